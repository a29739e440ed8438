import { queryOptions } from "@tanstack/react-query"
import { api, unwrap } from "./client"

/** Reference data several pages share; one query key each, so they are fetched once. */

export const categoriesQuery = queryOptions({
  queryKey: ["job-categories"],
  queryFn: async () =>
    (await unwrap(api.GET("/api/v1/job-categories"))).categories,
  staleTime: 60_000,
})

export const picTeamsQuery = queryOptions({
  queryKey: ["pic-teams"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/pic-teams"))).pic_teams,
  staleTime: 60_000,
})

/** Admins only (the API answers 403 to others). */
export const usersQuery = queryOptions({
  queryKey: ["users"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/auth/users"))).users,
  staleTime: 60_000,
})

/** One job, as its detail page and the execution page (who may cancel) read it. */
export const jobQuery = (jobId: string) =>
  queryOptions({
    queryKey: ["jobs", jobId],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/jobs/{job_id}", {
          params: { path: { job_id: jobId } },
        }),
      ),
  })
