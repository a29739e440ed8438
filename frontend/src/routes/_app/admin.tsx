import { createFileRoute, Link, Outlet } from "@tanstack/react-router"
import { RequireRole } from "@/auth/RequireRole"
import { can } from "@/auth/roles"

export const Route = createFileRoute("/_app/admin")({
  component: AdminLayout,
})

const SECTIONS = [
  { label: "Users", to: "/admin/users" },
  { label: "Categories", to: "/admin/categories" },
  { label: "PIC teams", to: "/admin/pic-teams" },
  { label: "Slack", to: "/admin/slack" },
] as const

/** Every admin page: admins only (others see "Not allowed"), with the section links. */
function AdminLayout() {
  return (
    <RequireRole allowed={can.administer} what="the admin pages">
      <div className="space-y-6">
        <nav aria-label="Admin sections">
          <ul className="flex flex-wrap gap-1 border-slate-200 border-b pb-2">
            {SECTIONS.map((section) => (
              <li key={section.to}>
                <Link
                  to={section.to}
                  className="rounded-md px-3 py-2 text-slate-700 text-sm hover:bg-slate-100"
                  activeProps={{
                    className: "bg-slate-100 font-semibold text-slate-900",
                    "aria-current": "page",
                  }}
                >
                  {section.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <Outlet />
      </div>
    </RequireRole>
  )
}
