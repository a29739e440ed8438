import { useEffect, useRef } from "react"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { Schemas } from "@/api/client"

type Bucket = Schemas["HourBucket"]

/** Stacking order, bottom first, and the colour of each status (WCAG AA against white). */
export const STATUS_SERIES = [
  { key: "success", label: "Success", color: "#15803d" },
  { key: "failed", label: "Failed", color: "#b91c1c" },
  { key: "missed", label: "Missed", color: "#a16207" },
  { key: "running", label: "Running", color: "#1d4ed8" },
  { key: "skipped", label: "Skipped", color: "#475569" },
  { key: "cancelled", label: "Cancelled", color: "#7e22ce" },
] as const

/**
 * Runs per hour by status as stacked bars (uPlot, loaded with the home page only). Each series
 * is drawn as the running total from its status up, the bottom status's bar tallest and drawn
 * first, so later ones sit on top; the legend shows each status's own count.
 */
export default function RunsPerHourChart({ buckets }: { buckets: Bucket[] }) {
  const container = useRef<HTMLDivElement>(null)

  useEffect(() => {
    const element = container.current
    if (!element) return
    const hours = buckets.map((bucket) => Date.parse(bucket.hour) / 1000)
    const own = STATUS_SERIES.map((status) =>
      buckets.map((bucket) => bucket[status.key]),
    )
    const stacked = STATUS_SERIES.map((_, index) =>
      buckets.map((_bucket, at) =>
        own.slice(index).reduce((sum, values) => sum + (values[at] ?? 0), 0),
      ),
    )
    const bars = uPlot.paths.bars?.({ size: [0.7, 40] })
    const chart = new uPlot(
      {
        width: element.clientWidth || 600,
        height: 220,
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(4, max)] },
        },
        axes: [
          { stroke: "#334155", grid: { show: false } },
          { stroke: "#334155", grid: { stroke: "#e2e8f0" } },
        ],
        series: [
          {},
          ...STATUS_SERIES.map((status, index) => ({
            label: status.label,
            stroke: status.color,
            fill: status.color,
            width: 0,
            paths: bars,
            points: { show: false },
            value: (
              _u: uPlot,
              _v: number | null,
              _s: number,
              at: number | null,
            ) => (at === null ? "—" : String(own[index]?.[at] ?? 0)),
          })),
        ],
      },
      [hours, ...stacked],
      element,
    )
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: element.clientWidth, height: 220 }),
    )
    resize.observe(element)
    return () => {
      resize.disconnect()
      chart.destroy()
    }
  }, [buckets])

  return <div ref={container} aria-hidden="true" className="w-full" />
}
