import type { components } from "@/api/schema.gen"

export type User = components["schemas"]["UserOut"]
type TokenPair = components["schemas"]["TokenPairResponse"]
type LoginResponse = components["schemas"]["LoginResponse"]

export interface Tokens {
  access: string
  refresh: string
}

export interface TokenStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/** Serialises refreshes across tabs (Web Locks); tabs share one refresh token in storage. */
export type LockRunner = <T>(name: string, run: () => Promise<T>) => Promise<T>

export class LoginError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const ACCESS_KEY = "cronjobs.access_token"
const REFRESH_KEY = "cronjobs.refresh_token"
const REFRESH_LOCK = "cronjobs.refresh"
/** Refresh this long before the access token's `exp`, so a request never leaves with a dying one. */
const EXPIRY_MARGIN_SECONDS = 30

const browserLock: LockRunner = <T>(name: string, run: () => Promise<T>) =>
  typeof navigator !== "undefined" && navigator.locks
    ? (navigator.locks.request(name, run) as Promise<T>)
    : run()

/** Seconds since the epoch at which a JWT expires, or null when it cannot be read. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split(".")[1]
  if (!payload) return null
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"))
    const exp: unknown = JSON.parse(json).exp
    return typeof exp === "number" ? exp : null
  } catch {
    return null
  }
}

/**
 * The signed-in person's tokens and the one place that talks to `/auth/login|refresh|logout`.
 *
 * The API rotates refresh tokens and treats a reused one as theft (every session of the user is
 * revoked), so at most one refresh is ever in flight: concurrent callers share its promise, and
 * across tabs a lock plus a re-read of storage make the second tab reuse the first one's result.
 */
export class Session {
  private refreshing: Promise<string | null> | null = null
  private readonly expiredListeners = new Set<() => void>()

  constructor(
    private readonly fetchFn: typeof fetch,
    private readonly storage: TokenStorage,
    private readonly lock: LockRunner = browserLock,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  get accessToken(): string | null {
    return this.storage.getItem(ACCESS_KEY)
  }

  get isSignedIn(): boolean {
    return this.storage.getItem(REFRESH_KEY) !== null
  }

  /** True when the access token is missing, unreadable or about to expire. */
  accessTokenIsStale(): boolean {
    const token = this.accessToken
    const exp = token ? tokenExpiry(token) : null
    return exp === null || exp - EXPIRY_MARGIN_SECONDS <= this.now()
  }

  /** Called when the session cannot be renewed any more (the refresh token was refused). */
  onExpired(listener: () => void): () => void {
    this.expiredListeners.add(listener)
    return () => this.expiredListeners.delete(listener)
  }

  async login(login: string, password: string): Promise<User> {
    const field = login.includes("@") ? "email" : "username"
    const response = await this.fetchFn("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ [field]: login, password }),
    })
    const body: unknown = await response.json().catch(() => null)
    if (!response.ok) {
      throw new LoginError(response.status, errorMessage(body, response.status))
    }
    const data = body as LoginResponse
    this.store({ access: data.access_token, refresh: data.refresh_token })
    return data.user
  }

  /**
   * A fresh access token, or null when the session is over. Every caller during one refresh
   * gets the same promise; a second refresh starts only after the first has settled.
   */
  refresh(): Promise<string | null> {
    if (!this.refreshing) {
      const seen = this.storage.getItem(REFRESH_KEY)
      this.refreshing = this.lock(REFRESH_LOCK, () =>
        this.refreshOnce(seen),
      ).finally(() => {
        this.refreshing = null
      })
    }
    return this.refreshing
  }

  /** The access token to send now, refreshed first when it is about to expire. */
  async validAccessToken(): Promise<string | null> {
    if (!this.isSignedIn) return null
    if (!this.accessTokenIsStale()) return this.accessToken
    return this.refresh()
  }

  async logout(): Promise<void> {
    const access = this.accessToken
    const refresh = this.storage.getItem(REFRESH_KEY)
    this.clear()
    if (!access) return
    // Best effort: the tokens are gone from this browser whatever the server answers.
    await this.fetchFn("/api/v1/auth/logout", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${access}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ refresh_token: refresh }),
    }).catch(() => undefined)
  }

  private async refreshOnce(seen: string | null): Promise<string | null> {
    const sent = this.storage.getItem(REFRESH_KEY)
    if (sent === null) return null
    // Another tab refreshed while this one waited for the lock: use its tokens.
    if (sent !== seen) return this.accessToken
    const response = await this.fetchFn("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: sent }),
    })
    if (response.status === 401) {
      this.expire()
      return null
    }
    if (!response.ok) {
      throw new Error(`Refreshing the session failed (${response.status})`)
    }
    const data = (await response.json()) as TokenPair
    this.store({ access: data.access_token, refresh: data.refresh_token })
    return data.access_token
  }

  private store(tokens: Tokens): void {
    this.storage.setItem(ACCESS_KEY, tokens.access)
    this.storage.setItem(REFRESH_KEY, tokens.refresh)
  }

  private clear(): void {
    this.storage.removeItem(ACCESS_KEY)
    this.storage.removeItem(REFRESH_KEY)
  }

  private expire(): void {
    this.clear()
    for (const listener of this.expiredListeners) listener()
  }
}

function errorMessage(body: unknown, status: number): string {
  if (body && typeof body === "object" && "message" in body) {
    const message = (body as { message: unknown }).message
    if (typeof message === "string") return message
  }
  return `Signing in failed (${status})`
}
