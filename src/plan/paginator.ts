// The paginator a resource uses, checked against its request: a JSON body path needs a POST.
import type { Problem } from "../errors.ts";
import type { ResolvedEndpoint } from "../config/resolve.ts";
import type { PlannedPaginator } from "./types.ts";

/** The endpoint's resolved paginator; a parameter that puts its value in a JSON body on a GET is a problem. */
export function planPaginator(endpoint: ResolvedEndpoint, problems: Problem[]): PlannedPaginator {
  const paginator = endpoint.paginator;
  if (endpoint.method !== "POST") {
    for (const key of ["cursor_body_path", "offset_body_path", "limit_body_path", "page_body_path"] as const) {
      if (key in paginator && (paginator as Partial<Record<typeof key, string | null>>)[key] !== null) {
        problems.push({
          path: `${endpoint.paginator_path}.${key}`,
          message: `${key} puts the value in a JSON body, which needs method = "POST"`,
        });
      }
    }
  }
  return paginator;
}
