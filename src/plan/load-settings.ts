// What an endpoint resource and a module resource plan alike: how their records become rows.
import type { ResolvedResource } from "../config/resolve.ts";

/** The keys, columns, nesting, steps and contract of `resource`, as the plan carries them. */
export function loadSettings(resource: ResolvedResource) {
  return {
    primary_key: resource.primary_key,
    merge_key: resource.merge_key,
    include_from_parent: resource.include_from_parent,
    columns: resource.columns,
    max_table_nesting: resource.max_table_nesting,
    processing_steps: resource.processing_steps,
    schema_contract: resource.schema_contract,
  };
}
