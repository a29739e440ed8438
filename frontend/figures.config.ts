import { defineConfig } from "@playwright/test"
import e2e from "./playwright.config"

/**
 * The dashboard's figures (`make figures`): the same browser and stack as the e2e suite, but
 * what runs here measures and writes `docs/dashboard-figures.md`; it asserts nothing.
 */
export default defineConfig({
  ...e2e,
  testDir: "./figures",
  testMatch: "*.figures.ts",
  timeout: 600_000,
  outputDir: "test-results/figures",
})
