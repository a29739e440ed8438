import { defineConfig } from "@playwright/test"

/**
 * End-to-end tests in Debian's Chromium (`/usr/bin/chromium`; never `playwright install`) against
 * the real service on a fresh PostgreSQL database, started by `e2e/global-setup.ts`. Run them
 * with `make e2e` from the repository root (it builds the dashboard and finds PostgreSQL first).
 */
export default defineConfig({
  testDir: "./e2e",
  globalSetup: "./e2e/global-setup.ts",
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // Generous: the machine is small and shared; a step waits only as long as it needs.
  timeout: 120_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? "list" : [["list"]],
  outputDir: "test-results",
  use: {
    // Set by the global setup, which runs before the config is read again in each worker.
    baseURL: process.env.E2E_BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
})
