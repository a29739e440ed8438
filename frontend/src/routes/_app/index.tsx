import { createFileRoute } from "@tanstack/react-router"
import { useCurrentUser } from "@/auth/useCurrentUser"

export const Route = createFileRoute("/_app/")({
  component: HomePage,
})

function HomePage() {
  const user = useCurrentUser()
  return (
    <section aria-labelledby="home-title" className="space-y-4">
      <h1 id="home-title" className="font-semibold text-2xl">
        Home
      </h1>
      <p className="text-slate-700">Signed in as {user.username}.</p>
    </section>
  )
}
