import { Link } from "@tanstack/react-router"
import type { AnchorHTMLAttributes, ReactNode } from "react"

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & {
  children: ReactNode
}

const linkClass = "text-blue-800 underline"

/** A link to a job's page (`/jobs/$jobId`). */
export function JobLink({
  jobId,
  className = linkClass,
  ...props
}: LinkProps & { jobId: string }) {
  return (
    <Link
      to="/jobs/$jobId"
      params={{ jobId }}
      className={className}
      {...props}
    />
  )
}

/** A link to an execution's page (`/executions/$executionId`). */
export function ExecutionLink({
  executionId,
  className = linkClass,
  ...props
}: LinkProps & { executionId: string }) {
  return (
    <Link
      to="/executions/$executionId"
      params={{ executionId }}
      className={className}
      {...props}
    />
  )
}
