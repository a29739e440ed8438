import { useSyncExternalStore } from "react"

/**
 * Whether the API answered the last request. A network failure, or a gateway's 502/504 from
 * the dev proxy, flips it to unreachable; the next real answer flips it back.
 */
class Connectivity {
  private online = true
  private readonly listeners = new Set<() => void>()

  get isReachable(): boolean {
    return this.online
  }

  reachable(status: number): void {
    this.set(!(status === 502 || status === 504))
  }

  unreachable(): void {
    this.set(false)
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private set(online: boolean): void {
    if (online === this.online) return
    this.online = online
    for (const listener of this.listeners) listener()
  }
}

export const connectivity = new Connectivity()

export function useApiReachable(): boolean {
  return useSyncExternalStore(
    connectivity.subscribe,
    () => connectivity.isReachable,
  )
}
