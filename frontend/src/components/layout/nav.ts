import type { LinkProps } from "@tanstack/react-router"
import { can } from "@/auth/roles"
import type { User } from "@/auth/session"

export interface NavItem {
  label: string
  to: LinkProps["to"]
  /** Omitted: every signed-in user sees it. */
  visible?: (user: User) => boolean
}

/** The main navigation, in order. Add a page's entry here once its route exists. */
export const NAV_ITEMS: NavItem[] = [
  { label: "Home", to: "/" },
  { label: "Jobs", to: "/jobs" },
  { label: "Executions", to: "/executions" },
  { label: "Import", to: "/import", visible: can.manageJobs },
  { label: "Admin", to: "/admin", visible: can.administer },
  { label: "API keys", to: "/api-keys" },
  { label: "Profile", to: "/profile" },
]
