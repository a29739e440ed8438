import { describe, expect, it } from "vitest"
import { type LockRunner, Session, type TokenStorage } from "./session"

function memoryStorage(initial: Record<string, string> = {}): TokenStorage {
  const values = new Map(Object.entries(initial))
  return {
    getItem: (key) => values.get(key) ?? null,
    setItem: (key, value) => void values.set(key, value),
    removeItem: (key) => void values.delete(key),
  }
}

/** An unsigned JWT-shaped token that expires at `exp` (seconds). */
function jwt(exp: number, id = "a"): string {
  const payload = btoa(JSON.stringify({ exp, jti: id }))
  return `header.${payload}.signature`
}

const NOW = 1_800_000_000

function signedIn(refresh = "r0"): TokenStorage {
  return memoryStorage({
    "cronjobs.access_token": jwt(NOW - 10),
    "cronjobs.refresh_token": refresh,
  })
}

/** A fake /auth/refresh that counts calls and how many are in flight at once. */
function refreshServer(answer: (n: number) => Response | Promise<Response>) {
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0, sent: [] as string[] }
  let release: () => void = () => undefined
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const fetchFn = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    stats.calls += 1
    stats.inFlight += 1
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    stats.sent.push(JSON.parse(String(init?.body)).refresh_token)
    await gate
    stats.inFlight -= 1
    return answer(stats.calls)
  }) as typeof fetch
  return { stats, fetchFn, release }
}

const pair = (n: number) =>
  new Response(
    JSON.stringify({
      access_token: jwt(NOW + 1800, `a${n}`),
      refresh_token: `r${n}`,
      token_type: "bearer",
    }),
    { status: 200 },
  )

const noLock: LockRunner = (_name, run) => run()

describe("Session.refresh", () => {
  it("shares one refresh among concurrent callers", async () => {
    const server = refreshServer(pair)
    const session = new Session(server.fetchFn, signedIn(), noLock, () => NOW)

    const callers = Array.from({ length: 5 }, () => session.refresh())
    server.release()
    const tokens = await Promise.all(callers)

    expect(server.stats.calls).toBe(1)
    expect(new Set(tokens)).toEqual(new Set([jwt(NOW + 1800, "a1")]))
    expect(session.accessToken).toBe(jwt(NOW + 1800, "a1"))
  })

  it("starts the next refresh only after the previous one settled, with the rotated token", async () => {
    const server = refreshServer(pair)
    const session = new Session(server.fetchFn, signedIn(), noLock, () => NOW)
    server.release()

    await session.refresh()
    await session.refresh()

    expect(server.stats.calls).toBe(2)
    expect(server.stats.maxInFlight).toBe(1)
    expect(server.stats.sent).toEqual(["r0", "r1"])
  })

  it("refreshes a stale access token before handing it out, once for all callers", async () => {
    const server = refreshServer(pair)
    const session = new Session(server.fetchFn, signedIn(), noLock, () => NOW)

    const callers = [session.validAccessToken(), session.validAccessToken()]
    server.release()
    const tokens = await Promise.all(callers)

    expect(server.stats.calls).toBe(1)
    expect(tokens[0]).toBe(tokens[1])
    // Fresh now: no more refreshes.
    await session.validAccessToken()
    expect(server.stats.calls).toBe(1)
  })

  it("ends the session when the refresh token is refused", async () => {
    const server = refreshServer(
      () => new Response('{"error":"Unauthorized"}', { status: 401 }),
    )
    const session = new Session(server.fetchFn, signedIn(), noLock, () => NOW)
    let expired = 0
    session.onExpired(() => {
      expired += 1
    })
    server.release()

    const results = await Promise.all([session.refresh(), session.refresh()])

    expect(results).toEqual([null, null])
    expect(expired).toBe(1)
    expect(session.isSignedIn).toBe(false)
    expect(session.accessToken).toBeNull()
  })

  it("uses another tab's result instead of reusing the rotated refresh token", async () => {
    const storage = signedIn("r0")
    const server = refreshServer(pair)
    // The other tab holds the lock and rotates the tokens before this tab gets it.
    const otherTabFirst: LockRunner = async (_name, run) => {
      storage.setItem("cronjobs.refresh_token", "r-other")
      storage.setItem("cronjobs.access_token", jwt(NOW + 1800, "other"))
      return run()
    }
    const session = new Session(
      server.fetchFn,
      storage,
      otherTabFirst,
      () => NOW,
    )
    server.release()

    const token = await session.refresh()

    expect(server.stats.calls).toBe(0)
    expect(token).toBe(jwt(NOW + 1800, "other"))
  })
})
