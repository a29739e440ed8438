import { queryOptions, useSuspenseQuery } from "@tanstack/react-query"
import { api, unwrap } from "@/api/client"
import type { User } from "./session"

export const currentUserQuery = queryOptions({
  queryKey: ["auth", "me"],
  queryFn: () => unwrap(api.GET("/api/v1/auth/me")),
  staleTime: 60_000,
})

/** The signed-in user; the `_app` layout loads it before any page renders. */
export function useCurrentUser(): User {
  return useSuspenseQuery(currentUserQuery).data
}
