import createClient, { type Middleware } from "openapi-fetch"
import { Session } from "@/auth/session"
import { connectivity } from "./connectivity"
import type { components, operations, paths } from "./schema.gen"

export type Schemas = components["schemas"]
export type Operations = operations
export type ErrorBody = Schemas["ErrorResponse"]

/** An answer outside 2xx, with the API's `{error, message, details}` envelope when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | null,
  ) {
    super(body?.message ?? `The service answered ${status}`)
  }

  /** Every 422 `details` entry, in order, its field path without the `body.` prefix. */
  fieldMessages(): { field: string; message: string }[] {
    const details = this.body?.details
    if (!Array.isArray(details)) return []
    return details.flatMap((entry) =>
      entry && typeof entry === "object" && "field" in entry
        ? [
            {
              field: String(entry.field).replace(/^body\./, ""),
              message: String(entry.message ?? ""),
            },
          ]
        : [],
    )
  }

  /** 422 `details` as `{field: message}` (the first message of each field path). */
  fieldErrors(): Record<string, string> {
    const errors: Record<string, string> = {}
    for (const { field, message } of this.fieldMessages()) {
      errors[field] ??= message
    }
    return errors
  }
}

// Looked up on each call, not captured once, so tests can stand in for the network.
const fetchFn: typeof fetch = (input, init) => globalThis.fetch(input, init)

export const session = new Session(fetchFn, window.localStorage)

const NO_AUTH = new Set(["/api/v1/auth/login", "/api/v1/auth/refresh"])
const retryCopies = new WeakMap<Request, Request>()

/**
 * Sends the access token (refreshed first when it is about to expire) and, when the API still
 * answers 401, refreshes once and replays the request: the person never sees an expiry.
 */
const auth: Middleware = {
  async onRequest({ request, schemaPath }) {
    if (NO_AUTH.has(schemaPath)) return request
    const token = await session.validAccessToken()
    if (token) request.headers.set("Authorization", `Bearer ${token}`)
    retryCopies.set(request, request.clone())
    return request
  },
  async onResponse({ request, response }) {
    connectivity.reachable(response.status)
    const copy = retryCopies.get(request)
    if (
      response.status !== 401 ||
      !copy ||
      !request.headers.has("Authorization")
    ) {
      return response
    }
    const token = await session.refresh()
    if (!token) return response
    copy.headers.set("Authorization", `Bearer ${token}`)
    const replay = await fetchFn(copy)
    connectivity.reachable(replay.status)
    return replay
  },
  onError({ error }) {
    connectivity.unreachable()
    return error instanceof Error ? error : new Error(String(error))
  },
}

export const api = createClient<paths>({ baseUrl: "", fetch: fetchFn })
api.use(auth)

/** The data of an openapi-fetch answer, or an ApiError for TanStack Query to show. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call
  if (error !== undefined || !response.ok) {
    throw new ApiError(response.status, isErrorBody(error) ? error : null)
  }
  return data as T
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === "object" &&
    value !== null &&
    "message" in value &&
    "error" in value
  )
}
