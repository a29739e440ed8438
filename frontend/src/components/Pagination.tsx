import { Button } from "@/components/ui/Button"

/**
 * Previous / next with "Page N of M". The page lives in the URL (search params), so the parent
 * navigates; this only says where to.
 */
export function Pagination({
  page,
  totalPages,
  total,
  onPage,
  label = "Pages",
}: {
  page: number
  totalPages: number
  total: number
  onPage: (page: number) => void
  label?: string
}) {
  if (totalPages <= 1) {
    return (
      <p className="text-slate-700 text-sm">
        {total} {total === 1 ? "result" : "results"}
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
        Page {page} of {totalPages} ({total} results)
      </span>
      <Button
        variant="secondary"
        disabled={page >= totalPages}
        onClick={() => onPage(page + 1)}
      >
        Next page
      </Button>
    </nav>
  )
}
