import { useEffect } from "react"
import { api } from "@/api/client"
import { useApiReachable } from "@/api/connectivity"

const RETRY_MS = 5_000

/** Shown while the API does not answer; it asks the health endpoint until it does again. */
export function ApiBanner() {
  const reachable = useApiReachable()
  useEffect(() => {
    if (reachable) return
    const timer = window.setInterval(() => {
      void api.GET("/api/v1/health").catch(() => undefined)
    }, RETRY_MS)
    return () => window.clearInterval(timer)
  }, [reachable])
  if (reachable) return null
  return (
    <div
      role="alert"
      className="bg-amber-100 px-4 py-2 text-center text-amber-950 text-sm"
    >
      The service cannot be reached. Showing what was last loaded; retrying
      every few seconds.
    </div>
  )
}
