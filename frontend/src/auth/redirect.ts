/** Only same-origin paths are followed after sign-in (no open redirect through `?redirect=`). */
export function safeRedirect(target: string | undefined): string {
  if (!target?.startsWith("/") || target.startsWith("//")) return "/"
  if (target.startsWith("/login")) return "/"
  return target
}
