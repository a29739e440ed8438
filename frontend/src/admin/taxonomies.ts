import { api, unwrap } from "@/api/client"

/** A category or a PIC team, as the admin page shows it (teams also have a Slack handle). */
export interface TaxonomyItem {
  id: string
  slug: string
  name: string
  is_active: boolean
  slack_handle?: string
}

export interface TaxonomyFields {
  name: string
  slack_handle?: string
}

/** What differs between the two taxonomies: words and endpoints. The page is one. */
export interface TaxonomyKind {
  title: string
  singular: string
  queryKey: readonly string[]
  withSlackHandle: boolean
  list: () => Promise<TaxonomyItem[]>
  create: (fields: TaxonomyFields) => Promise<unknown>
  update: (
    id: string,
    fields: Partial<TaxonomyFields> & { is_active?: boolean },
  ) => Promise<unknown>
  disable: (id: string) => Promise<unknown>
}

export const categories: TaxonomyKind = {
  title: "Categories",
  singular: "category",
  queryKey: ["admin", "job-categories"],
  withSlackHandle: false,
  list: async () =>
    (
      await unwrap(
        api.GET("/api/v1/job-categories", {
          params: { query: { include_inactive: true } },
        }),
      )
    ).categories,
  create: ({ name }) =>
    unwrap(api.POST("/api/v1/job-categories", { body: { name } })),
  update: (id, { name, is_active }) =>
    unwrap(
      api.PUT("/api/v1/job-categories/{category_id}", {
        params: { path: { category_id: id } },
        body: { name, is_active },
      }),
    ),
  disable: (id) =>
    unwrap(
      api.DELETE("/api/v1/job-categories/{category_id}", {
        params: { path: { category_id: id } },
      }),
    ),
}

export const picTeams: TaxonomyKind = {
  title: "PIC teams",
  singular: "PIC team",
  queryKey: ["admin", "pic-teams"],
  withSlackHandle: true,
  list: async () =>
    (
      await unwrap(
        api.GET("/api/v1/pic-teams", {
          params: { query: { include_inactive: true } },
        }),
      )
    ).pic_teams,
  create: ({ name, slack_handle = "" }) =>
    unwrap(api.POST("/api/v1/pic-teams", { body: { name, slack_handle } })),
  update: (id, body) =>
    unwrap(
      api.PUT("/api/v1/pic-teams/{team_id}", {
        params: { path: { team_id: id } },
        body,
      }),
    ),
  disable: (id) =>
    unwrap(
      api.DELETE("/api/v1/pic-teams/{team_id}", {
        params: { path: { team_id: id } },
      }),
    ),
}
