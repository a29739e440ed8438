import type { Schemas } from "@/api/client"
import type { User } from "./session"

/**
 * What a role may do, for hiding controls. The API enforces the same rules (403); this only keeps
 * people from being offered what they cannot do.
 */
export const can = {
  /** Create, edit, run, pause and delete jobs (their own; admins any). */
  manageJobs: (user: User) => user.role === "admin" || user.role === "user",
  /** Edit, run, pause or delete this job: admins any, users those they created. */
  changeJob: (user: User, job: Pick<Schemas["JobRead"], "created_by">) =>
    user.role === "admin" ||
    (user.role === "user" && job.created_by === user.id),
  /** Users, categories, PIC teams, Slack settings. */
  administer: (user: User) => user.role === "admin",
}
