import type { QueryClient } from "@tanstack/react-query"
import { createRootRouteWithContext, Outlet } from "@tanstack/react-router"
import { ApiBanner } from "@/components/ApiBanner"
import { ErrorState, NotFound } from "@/components/states"

export interface RouterContext {
  queryClient: QueryClient
}

export const Route = createRootRouteWithContext<RouterContext>()({
  component: Root,
  notFoundComponent: () => <NotFound />,
  errorComponent: ({ error, reset }) => (
    <ErrorState error={error} retry={reset} />
  ),
})

function Root() {
  return (
    <>
      <ApiBanner />
      <Outlet />
    </>
  )
}
