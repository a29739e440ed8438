import type { Page } from "@playwright/test"
import createClient from "openapi-fetch"
import type { components, paths } from "../src/api/schema.gen"
import { stack, targetUrl } from "./stack"

/**
 * Test data through the real API (typed by the same generated schema as the dashboard), so a
 * spec spends its browser time on the page it is about, not on clicking its fixtures together.
 */

export type Schemas = components["schemas"]
export type Role = Schemas["UserRole"]
export type Job = Schemas["JobRead"]

export interface Tokens {
  access: string
  refresh: string
}

export interface Account {
  username: string
  password: string
  tokens: Tokens
  api: ReturnType<typeof createClient<paths>>
}

/** The storage keys of `src/auth/session.ts`. */
const ACCESS_KEY = "cronjobs.access_token"
const REFRESH_KEY = "cronjobs.refresh_token"

let counter = 0
/** A name no other test of this run uses (the database lives for the whole run). */
export function unique(prefix: string): string {
  counter += 1
  return `${prefix}_${Date.now().toString(36)}_${counter}`
}

function clientWith(access: string): Account["api"] {
  return createClient<paths>({
    baseUrl: stack().baseURL,
    headers: { Authorization: `Bearer ${access}` },
  })
}

/** The data of an API answer, or an error that says what the API refused. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call
  if (data === undefined) {
    throw new Error(
      `${response.url} answered ${response.status}: ${JSON.stringify(error)}`,
    )
  }
  return data
}

export async function signInApi(
  username: string = stack().admin.username,
  password: string = stack().admin.password,
): Promise<Account> {
  const anonymous = createClient<paths>({ baseUrl: stack().baseURL })
  const answer = await ok(
    anonymous.POST("/api/v1/auth/login", { body: { username, password } }),
  )
  const tokens = { access: answer.access_token, refresh: answer.refresh_token }
  return { username, password, tokens, api: clientWith(tokens.access) }
}

let adminSession: Promise<Account> | undefined
/** The first admin, signed in through the API once per worker (nothing here refreshes it). */
export function adminAccount(): Promise<Account> {
  adminSession ??= signInApi()
  return adminSession
}

/** An admin-created account of `role`, signed in through the API. */
export async function createAccount(role: Role): Promise<Account> {
  const admin = await adminAccount()
  const username = unique(role)
  const password = `pw-${username}-secret`
  await ok(
    admin.api.POST("/api/v1/auth/register", {
      body: { username, email: `${username}@example.com`, password, role },
    }),
  )
  return signInApi(username, password)
}

/**
 * Opens `path` already signed in as `account`: the tokens go into the tab's storage once,
 * before the app starts, exactly where a sign-in would have put them (a refresh later may
 * rotate them; a reload keeps the rotated ones).
 */
export async function openAs(
  page: Page,
  account: Account,
  path: string,
): Promise<void> {
  await page.addInitScript(
    ({ keys, tokens }) => {
      if (sessionStorage.getItem("e2e.seeded")) return
      sessionStorage.setItem("e2e.seeded", "1")
      localStorage.setItem(keys.access, tokens.access)
      localStorage.setItem(keys.refresh, tokens.refresh)
    },
    {
      keys: { access: ACCESS_KEY, refresh: REFRESH_KEY },
      tokens: account.tokens,
    },
  )
  await page.goto(path)
}

export async function createTeam(admin: Account, name = unique("Team")) {
  const answer = await ok(
    admin.api.POST("/api/v1/pic-teams", {
      body: { name, slack_handle: `@${name.toLowerCase()}` },
    }),
  )
  return answer.pic_team
}

/**
 * Fires once a year (04:30 on 1 January), so the scheduler never adds a run during a test:
 * a spec's runs are the ones it asked for.
 */
export const QUIET_CRON = "30 4 1 1 *"

/** A webhook job on the loopback target (`hook`: its name there; `status`: its answer). */
export async function createJob(
  owner: Account,
  team: string,
  options: {
    name?: string
    hook?: string
    status?: number
    delaySeconds?: number
    policies?: Partial<Schemas["JobCreate"]>
  } = {},
): Promise<Job> {
  const name = options.name ?? unique("job")
  const inAYear = new Date(Date.now() + 365 * 86_400_000)
  const answer = await ok(
    owner.api.POST("/api/v1/jobs", {
      body: {
        name,
        cron_expression: QUIET_CRON,
        timezone: "UTC",
        target_url: targetUrl(
          options.hook ?? name,
          options.status,
          options.delaySeconds,
        ),
        http_method: "POST",
        end_date: inAYear.toISOString().slice(0, 10),
        pic_team: team,
        is_active: true,
        enable_email_notifications: false,
        notify_on_success: false,
        timeout_seconds: 10,
        max_retries: 0,
        max_doublings: 5,
        max_retry_duration_seconds: 0,
        concurrency_policy: "allow",
        catchup: "latest",
        ...options.policies,
      },
    }),
  )
  return answer.job
}

/** Runs `job` now through the API and waits for the run's outcome. */
export async function runNow(owner: Account, job: Job) {
  const triggered = await ok(
    owner.api.POST("/api/v1/jobs/{job_id}/execute", {
      params: { path: { job_id: job.id } },
      body: {},
    }),
  )
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const { execution } = await ok(
      owner.api.GET("/api/v1/executions/{execution_id}", {
        params: { path: { execution_id: triggered.execution.id } },
      }),
    )
    if (execution.status !== "running") return execution
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`the run of ${job.name} did not finish in 20 s`)
}
