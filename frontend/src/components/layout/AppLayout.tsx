import { useQueryClient } from "@tanstack/react-query"
import { Link, Outlet, useNavigate } from "@tanstack/react-router"
import { session } from "@/api/client"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { Button } from "@/components/ui/Button"
import { NotificationBell } from "@/notifications/NotificationBell"
import { NAV_ITEMS } from "./nav"

export function AppLayout() {
  const user = useCurrentUser()
  const navigate = useNavigate()
  const queryClient = useQueryClient()

  const signOut = async () => {
    await session.logout()
    queryClient.clear()
    await navigate({ to: "/login", search: {} })
  }

  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="border-slate-200 border-b bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-4 px-4 py-3">
          <Link to="/" className="font-semibold text-slate-900">
            Cron Job Service
          </Link>
          <nav aria-label="Main" className="flex-1">
            <ul className="flex flex-wrap gap-1">
              {NAV_ITEMS.filter((item) => item.visible?.(user) ?? true).map(
                (item) => (
                  <li key={item.label}>
                    <Link
                      to={item.to}
                      activeOptions={{ exact: item.to === "/" }}
                      className="rounded-md px-3 py-2 text-slate-700 text-sm hover:bg-slate-100"
                      activeProps={{
                        className: "bg-slate-100 font-semibold text-slate-900",
                        "aria-current": "page",
                      }}
                    >
                      {item.label}
                    </Link>
                  </li>
                ),
              )}
            </ul>
          </nav>
          <div
            id="header-actions"
            className="flex items-center gap-2 text-slate-700 text-sm"
          >
            <NotificationBell />
            <span>
              <span className="font-medium text-slate-900">
                {user.username}
              </span>{" "}
              ({user.role})
            </span>
            <Button variant="secondary" onClick={signOut}>
              Sign out
            </Button>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  )
}
