import { useQuery } from "@tanstack/react-query"
import { Link } from "@tanstack/react-router"
import { unreadCountQuery } from "./queries"
import { useBrowserAlerts } from "./useBrowserAlerts"

/** The header's bell: unread count refreshed every 30 s, a link to the list. */
export function NotificationBell() {
  useBrowserAlerts()
  const unread = useQuery(unreadCountQuery)
  const count = unread.data?.unread_count ?? 0
  const label =
    count === 0
      ? "Notifications, none unread"
      : `Notifications, ${count} unread`
  return (
    <Link
      to="/notifications"
      aria-label={label}
      title={label}
      className="relative inline-flex items-center rounded-md p-2 text-slate-800 hover:bg-slate-100"
      activeProps={{ "aria-current": "page" }}
    >
      <svg
        aria-hidden="true"
        viewBox="0 0 24 24"
        className="size-5"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      >
        <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
        <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      </svg>
      {count > 0 ? (
        <span
          aria-hidden="true"
          data-testid="unread-count"
          className="absolute -top-1 -right-1 min-w-5 rounded-full bg-red-700 px-1 text-center font-semibold text-white text-xs"
        >
          {count > 99 ? "99+" : count}
        </span>
      ) : null}
    </Link>
  )
}
