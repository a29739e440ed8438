import { createFileRoute, redirect } from "@tanstack/react-router"
import { session } from "@/api/client"
import { currentUserQuery } from "@/auth/useCurrentUser"
import { AppLayout } from "@/components/layout/AppLayout"

/** Every page behind sign-in lives under this layout route (`src/routes/_app/`). */
export const Route = createFileRoute("/_app")({
  beforeLoad: async ({ context, location }) => {
    if (!session.isSignedIn) {
      throw redirect({ to: "/login", search: { redirect: location.href } })
    }
    const user = await context.queryClient.ensureQueryData(currentUserQuery)
    if (!session.isSignedIn) {
      // The refresh token was refused while loading the user.
      throw redirect({ to: "/login", search: { redirect: location.href } })
    }
    return { user }
  },
  component: AppLayout,
})
