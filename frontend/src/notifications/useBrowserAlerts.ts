import { useQuery } from "@tanstack/react-query"
import { useNavigate } from "@tanstack/react-router"
import { useEffect, useRef, useState } from "react"
import { useCurrentUser } from "@/auth/useCurrentUser"
import {
  browserAlertsAllowed,
  browserPermission,
  NewNotificationTracker,
  onPermissionChange,
  showBrowserAlert,
} from "./browserAlerts"
import { newestUnreadQuery, preferencesQuery } from "./queries"

/**
 * While the dashboard is open and the `browser_notifications` preference is on (with the
 * browser's permission), new notifications also appear as browser notifications.
 */
export function useBrowserAlerts(): void {
  const user = useCurrentUser()
  const navigate = useNavigate()
  const preferences = useQuery(preferencesQuery(user.id))
  // Permission can change in the profile page (asked there) or in the browser's settings.
  const [permission, setPermission] = useState(browserPermission)
  useEffect(
    () => onPermissionChange(() => setPermission(browserPermission())),
    [],
  )

  const allowed = browserAlertsAllowed(
    preferences.data?.preferences.browser_notifications,
    permission,
  )
  const newest = useQuery({ ...newestUnreadQuery, enabled: allowed })
  const tracker = useRef(new NewNotificationTracker())

  useEffect(() => {
    if (!allowed) tracker.current.reset()
  }, [allowed])

  useEffect(() => {
    if (!allowed || !newest.data) return
    for (const notification of tracker.current.take(
      newest.data.notifications,
    )) {
      showBrowserAlert(notification, () => navigate({ to: "/notifications" }))
    }
  }, [allowed, newest.data, navigate])
}
