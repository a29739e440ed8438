import { createFileRoute } from "@tanstack/react-router"
import { TaxonomyAdmin } from "@/admin/TaxonomyAdmin"
import { picTeams } from "@/admin/taxonomies"

export const Route = createFileRoute("/_app/admin/pic-teams")({
  component: () => <TaxonomyAdmin kind={picTeams} />,
})
