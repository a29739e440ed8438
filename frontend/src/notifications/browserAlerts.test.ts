import { afterEach, describe, expect, it, vi } from "vitest"
import type { Schemas } from "@/api/client"
import {
  browserAlertsAllowed,
  browserAlertsSwitch,
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

describe("browserAlertsSwitch", () => {
  function stubPermission(
    permission: NotificationPermission,
    answer: NotificationPermission = permission,
  ) {
    const requestPermission = vi.fn(async () => answer)
    vi.stubGlobal("Notification", { permission, requestPermission })
    return requestPermission
  }

  it("asks the browser when the switch goes on and saves only a grant", async () => {
    const asked = stubPermission("default", "granted")
    expect(await browserAlertsSwitch(true)).toEqual({ save: true })
    expect(asked).toHaveBeenCalledOnce()

    const refused = stubPermission("default", "denied")
    expect(await browserAlertsSwitch(true)).toBeNull()
    expect(refused).toHaveBeenCalledOnce()
  })

  it("does not ask again once the browser answered", async () => {
    const granted = stubPermission("granted")
    expect(await browserAlertsSwitch(true)).toEqual({ save: true })
    const denied = stubPermission("denied")
    expect(await browserAlertsSwitch(true)).toBeNull()
    expect(granted).not.toHaveBeenCalled()
    expect(denied).not.toHaveBeenCalled()
  })

  it("never asks when switched off, and cannot go on without the API", async () => {
    const asked = stubPermission("default", "granted")
    expect(await browserAlertsSwitch(false)).toEqual({ save: false })
    expect(asked).not.toHaveBeenCalled()
    vi.stubGlobal("Notification", undefined)
    expect(await browserAlertsSwitch(true)).toBeNull()
  })

  it("tells the open dashboard the permission was answered", async () => {
    stubPermission("default", "granted")
    const heard = vi.fn()
    window.addEventListener("cronjobs:notification-permission", heard)
    await browserAlertsSwitch(true)
    window.removeEventListener("cronjobs:notification-permission", heard)
    expect(heard).toHaveBeenCalledOnce()
  })
})
