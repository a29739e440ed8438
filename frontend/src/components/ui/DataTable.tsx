import type { ReactNode, TdHTMLAttributes } from "react"

/**
 * A bordered, horizontally scrolling table with a screen-reader caption and one header row;
 * the rows (`<tr>` of `<Cell>`s) are the children.
 */
export function DataTable({
  caption,
  columns,
  children,
}: {
  caption: string
  /** Header labels, in order; `null` leaves a column out (e.g. one a role may not see). */
  columns: (string | null)[]
  children: ReactNode
}) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
      <table className="min-w-full divide-y divide-slate-200 text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-100 text-left text-slate-900">
          <tr>
            {columns.map((label) =>
              label === null ? null : (
                <th key={label} scope="col" className="px-3 py-2 font-semibold">
                  {label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200">{children}</tbody>
      </table>
    </div>
  )
}

/** A body cell of a `DataTable`. */
export function Cell({
  className = "",
  ...props
}: TdHTMLAttributes<HTMLTableCellElement>) {
  return <td className={`px-3 py-2 ${className}`} {...props} />
}
