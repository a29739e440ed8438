import { createFileRoute } from "@tanstack/react-router"
import { TaxonomyAdmin } from "@/admin/TaxonomyAdmin"
import { categories } from "@/admin/taxonomies"

export const Route = createFileRoute("/_app/admin/categories")({
  component: () => <TaxonomyAdmin kind={categories} />,
})
