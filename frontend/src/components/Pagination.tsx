import { Button } from "@/components/ui/Button"

/**
 * Previous / next with "Page N of M". The page lives in the URL (search params), so the parent
 * navigates; this only says where to. `estimated`: the total is the server's estimate (a
 * listing past its exact-count limit), shown as "about"; `hasNext`, when the listing says
 * whether another page follows, decides the next button instead of the estimated page count.
 */
export function Pagination({
  page,
  totalPages,
  total,
  onPage,
  label = "Pages",
  estimated = false,
  hasNext,
}: {
  page: number
  totalPages: number
  total: number
  onPage: (page: number) => void
  label?: string
  estimated?: boolean
  hasNext?: boolean
}) {
  const about = estimated ? "about " : ""
  const count = estimated ? total.toLocaleString("en-US") : String(total)
  const more = hasNext ?? page < totalPages
  if (totalPages <= 1 && !more && page <= 1) {
    return (
      <p className="text-slate-700 text-sm">
        {about}
        {count} {total === 1 ? "result" : "results"}
      </p>
    )
  }
  return (
    <nav aria-label={label} className="flex items-center gap-3 text-sm">
      <Button
        variant="secondary"
        disabled={page <= 1}
        onClick={() => onPage(page - 1)}
      >
        Previous page
      </Button>
      <span className="text-slate-700">
        Page {page} of {about}
        {totalPages} ({about}
        {count} results)
      </span>
      <Button
        variant="secondary"
        disabled={!more}
        onClick={() => onPage(page + 1)}
      >
        Next page
      </Button>
    </nav>
  )
}
