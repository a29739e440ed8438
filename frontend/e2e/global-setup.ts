import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import type { StackState } from "./stack"

const ROOT = path.resolve(import.meta.dirname, "../..")
const PYTHON = path.join(ROOT, ".venv/bin/python")
const START_TIMEOUT_MS = 90_000

/**
 * Starts `tests/support/e2e_stack.py` (the service as a real uvicorn process on a fresh PostgreSQL
 * database, plus a loopback target) and hands its addresses to the tests through the environment.
 * The returned function stops it: closing its standard input makes it clean up and exit.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(path.join(ROOT, "frontend/dist/index.html"))) {
    throw new Error(
      "The dashboard is not built: run `make e2e` (or `make frontend`) first.",
    )
  }
  const stateFile = path.join(
    mkdtempSync(path.join(tmpdir(), "cronjobs-e2e-")),
    "state.json",
  )
  const stack = spawn(
    PYTHON,
    ["-m", "tests.support.e2e_stack", "--state", stateFile],
    {
      cwd: ROOT,
      stdio: ["pipe", "inherit", "inherit"],
    },
  )
  const state = await waitForState(stack, stateFile)
  process.env.E2E_BASE_URL = state.baseURL
  process.env.E2E_STATE = JSON.stringify(state)
  return async () => {
    const exited = new Promise((resolve) => stack.once("exit", resolve))
    stack.stdin?.end()
    await exited
  }
}

async function waitForState(
  stack: ChildProcess,
  stateFile: string,
): Promise<StackState> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (stack.exitCode !== null) {
      throw new Error(
        `The e2e stack exited with ${stack.exitCode} while starting`,
      )
    }
    if (existsSync(stateFile)) {
      return JSON.parse(readFileSync(stateFile, "utf8")) as StackState
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  stack.kill()
  throw new Error("The e2e stack did not start in time")
}
