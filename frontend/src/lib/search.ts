/** Reading list filters from the URL (`validateSearch`), so a filtered page can be shared and reloaded. */

/** A page number from the URL: a positive integer, else 1. */
export function pageParam(value: unknown): number {
  const page = Number(value)
  return Number.isInteger(page) && page >= 1 ? page : 1
}

/** A value from `allowed`, else undefined. */
export function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  return allowed.find((candidate) => candidate === value)
}

/** A `YYYY-MM-DD` date, else undefined. */
export function dateParam(value: unknown): string | undefined {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? value
    : undefined
}
