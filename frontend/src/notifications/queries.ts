import { queryOptions } from "@tanstack/react-query"
import { api, unwrap } from "@/api/client"

/** How often the bell and browser alerts look for new notifications. */
export const NOTIFICATIONS_POLL_MS = 30_000

export const notificationKeys = {
  all: ["notifications"] as const,
  unreadCount: ["notifications", "unread-count"] as const,
  page: (page: number, unreadOnly: boolean) =>
    ["notifications", "list", { page, unreadOnly }] as const,
  newest: ["notifications", "newest-unread"] as const,
}

export const unreadCountQuery = queryOptions({
  queryKey: notificationKeys.unreadCount,
  queryFn: () => unwrap(api.GET("/api/v1/notifications/unread-count")),
  refetchInterval: NOTIFICATIONS_POLL_MS,
})

/** The newest unread notifications, for the browser alerts. */
export const newestUnreadQuery = queryOptions({
  queryKey: notificationKeys.newest,
  queryFn: () =>
    unwrap(
      api.GET("/api/v1/notifications", {
        params: { query: { unread_only: true, per_page: 20 } },
      }),
    ),
  refetchInterval: NOTIFICATIONS_POLL_MS,
})

export const preferencesQuery = (userId: string) =>
  queryOptions({
    queryKey: ["preferences", userId],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/auth/users/{user_id}/preferences", {
          params: { path: { user_id: userId } },
        }),
      ),
  })
