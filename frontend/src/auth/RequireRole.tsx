import type { ReactNode } from "react"
import { Forbidden } from "@/components/states"
import type { User } from "./session"
import { useCurrentUser } from "./useCurrentUser"

/** Renders `children` only for users `allowed` admits; everyone else sees "Not allowed". */
export function RequireRole({
  allowed,
  what,
  children,
}: {
  allowed: (user: User) => boolean
  what?: string
  children: ReactNode
}) {
  const user = useCurrentUser()
  return allowed(user) ? children : <Forbidden what={what} />
}
