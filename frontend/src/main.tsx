import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { createRouter, RouterProvider } from "@tanstack/react-router"
import { StrictMode } from "react"
import ReactDOM from "react-dom/client"
import { ApiError, session } from "@/api/client"
import { Loading } from "@/components/states"
import { routeTree } from "./routeTree.gen"
import "./index.css"

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // Client errors will not get better by asking again; network trouble may.
      retry: (failures, error) =>
        !(error instanceof ApiError && error.status < 500) && failures < 2,
    },
  },
})

const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: "intent",
  defaultPendingComponent: Loading,
  scrollRestoration: true,
})

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router
  }
}

// The refresh token was refused: back to sign-in, then back here after signing in again.
session.onExpired(() => {
  queryClient.clear()
  const here = router.state.location.href
  if (router.state.location.pathname !== "/login") {
    void router.navigate({ to: "/login", search: { redirect: here } })
  }
})

const root = document.getElementById("root")
if (!root) throw new Error("index.html has no #root element")

ReactDOM.createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
)
