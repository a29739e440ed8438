import type { Schemas } from "@/api/client"

type Notification = Schemas["NotificationRead"]

/** What the browser allows: `"unsupported"` when it has no Notification API at all. */
export type BrowserPermission = NotificationPermission | "unsupported"

export function browserPermission(): BrowserPermission {
  return typeof globalThis.Notification === "undefined"
    ? "unsupported"
    : globalThis.Notification.permission
}

const PERMISSION_EVENT = "cronjobs:notification-permission"

/** Tells the open dashboard the permission was just answered (the profile page asks it). */
export function announcePermission(): void {
  window.dispatchEvent(new Event(PERMISSION_EVENT))
}

/** Calls `listener` when the permission may have changed; returns the unsubscribe. */
export function onPermissionChange(listener: () => void): () => void {
  window.addEventListener(PERMISSION_EVENT, listener)
  window.addEventListener("focus", listener)
  return () => {
    window.removeEventListener(PERMISSION_EVENT, listener)
    window.removeEventListener("focus", listener)
  }
}

/**
 * What turning the profile's switch to `on` should save: switching off never asks anything;
 * switching on asks the browser's permission when it was never answered, and is saved only
 * when the browser allows notifications (`null`: leave the switch off).
 */
export async function browserAlertsSwitch(
  on: boolean,
): Promise<{ save: boolean } | null> {
  if (!on) return { save: false }
  const permission = browserPermission()
  if (permission === "unsupported") return null
  const answer =
    permission === "default"
      ? await globalThis.Notification.requestPermission()
      : permission
  announcePermission()
  return answer === "granted" ? { save: true } : null
}

/** Browser alerts are shown only when the person switched them on *and* the browser allows them. */
export function browserAlertsAllowed(
  switchedOn: boolean | undefined,
  permission: BrowserPermission,
): boolean {
  return switchedOn === true && permission === "granted"
}

/**
 * Picks the notifications not seen before. The first list it is given is the baseline (what
 * existed when the dashboard opened or the switch went on): those are never alerted, so opening
 * the dashboard does not replay old news.
 */
export class NewNotificationTracker {
  private seen: Set<string> | null = null

  take(notifications: readonly Notification[]): Notification[] {
    if (this.seen === null) {
      this.seen = new Set(notifications.map((n) => n.id))
      return []
    }
    const fresh = notifications.filter((n) => !this.seen?.has(n.id))
    for (const n of fresh) this.seen.add(n.id)
    // Oldest first, so alerts pop up in the order things happened.
    return fresh.sort((a, b) => a.created_at.localeCompare(b.created_at))
  }

  /** Forget the baseline (switch turned off): the next list starts a new one. */
  reset(): void {
    this.seen = null
  }
}

/** Shows one notification with the browser's Notification API; a click focuses the dashboard. */
export function showBrowserAlert(
  notification: Notification,
  open: (notification: Notification) => void,
): void {
  const alert = new globalThis.Notification(notification.title, {
    body: notification.message,
    // The same notification seen by two open tabs replaces itself instead of showing twice.
    tag: notification.id,
  })
  alert.onclick = () => {
    window.focus()
    open(notification)
    alert.close()
  }
}
