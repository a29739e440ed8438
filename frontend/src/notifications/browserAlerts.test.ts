import { afterEach, describe, expect, it, vi } from "vitest"
import type { Schemas } from "@/api/client"
import {
  browserAlertsAllowed,
  browserPermission,
  NewNotificationTracker,
  showBrowserAlert,
} from "./browserAlerts"

function notification(
  id: string,
  created_at: string,
): Schemas["NotificationRead"] {
  return {
    id,
    created_at,
    title: `title ${id}`,
    message: `message ${id}`,
    type: "error",
    is_read: false,
    read_at: null,
    related_execution_id: null,
    related_job_id: null,
    user_id: "u",
  }
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe("browserAlertsAllowed", () => {
  it("needs both the switch and the browser's permission", () => {
    expect(browserAlertsAllowed(true, "granted")).toBe(true)
    expect(browserAlertsAllowed(false, "granted")).toBe(false)
    expect(browserAlertsAllowed(undefined, "granted")).toBe(false)
    expect(browserAlertsAllowed(true, "default")).toBe(false)
    expect(browserAlertsAllowed(true, "denied")).toBe(false)
    expect(browserAlertsAllowed(true, "unsupported")).toBe(false)
  })

  it("reads the permission, or says the API is missing", () => {
    vi.stubGlobal("Notification", undefined)
    expect(browserPermission()).toBe("unsupported")
    vi.stubGlobal("Notification", { permission: "denied" })
    expect(browserPermission()).toBe("denied")
  })
})

describe("NewNotificationTracker", () => {
  it("never alerts what existed at the start, then alerts each new one once, oldest first", () => {
    const tracker = new NewNotificationTracker()
    const old = notification("a", "2026-12-01T10:00:00Z")
    expect(tracker.take([old])).toEqual([])

    const later = notification("c", "2026-12-01T10:02:00Z")
    const sooner = notification("b", "2026-12-01T10:01:00Z")
    expect(tracker.take([later, sooner, old]).map((n) => n.id)).toEqual([
      "b",
      "c",
    ])
    expect(tracker.take([later, sooner, old])).toEqual([])
  })

  it("starts a new baseline after a reset (switch off, then on)", () => {
    const tracker = new NewNotificationTracker()
    tracker.take([])
    tracker.reset()
    expect(tracker.take([notification("x", "2026-12-01T10:00:00Z")])).toEqual(
      [],
    )
  })
})

describe("showBrowserAlert", () => {
  it("shows title and message, tagged by id, and opens the list on click", () => {
    const shown: { title: string; options: NotificationOptions }[] = []
    class FakeNotification {
      onclick: (() => void) | null = null
      close = vi.fn()
      constructor(title: string, options: NotificationOptions) {
        shown.push({ title, options })
        instances.push(this)
      }
    }
    const instances: FakeNotification[] = []
    vi.stubGlobal("Notification", FakeNotification)
    const open = vi.fn()

    showBrowserAlert(notification("n1", "2026-12-01T10:00:00Z"), open)
    instances[0]?.onclick?.()

    expect(shown).toEqual([
      { title: "title n1", options: { body: "message n1", tag: "n1" } },
    ])
    expect(open).toHaveBeenCalledOnce()
    expect(instances[0]?.close).toHaveBeenCalled()
  })
})
