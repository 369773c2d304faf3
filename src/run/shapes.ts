// How a planned resource is normalised (its shape) and written (its table group).
import type { TableGroup } from "../load/write.ts";
import type { KeyStats, ResourceShape } from "../normalize/flatten.ts";
import { normalizeIdentifier } from "../normalize/naming.ts";
import type { Contract } from "../normalize/schema.ts";
import type { PlannedResource } from "../plan/index.ts";

const keyColumn = (key: string) => key.split(".").map(normalizeIdentifier).join("__");

/** How `resource`'s records are normalised; keys and root ids follow `governing`, the resource whose disposition its table takes. */
export function shapeOf(resource: PlannedResource, governing: PlannedResource = resource): ResourceShape {
  const hints = new Map(
    Object.entries(resource.columns).map(([field, hint]) => [field.split(".").map(normalizeIdentifier).join("__"), hint]),
  );
  return {
    resource: resource.name,
    table: resource.table!,
    maxNesting: resource.max_table_nesting,
    hints,
    required: Object.entries(resource.columns)
      .filter(([, hint]) => !hint.nullable)
      .map(([field]) => field),
    contract: resource.schema_contract as Contract,
    rootIds: governing.write_disposition.disposition === "merge",
    primaryKey: governing.write_disposition.disposition === "merge" ? governing.primary_key.map(keyColumn) : [],
    primaryKeyFields: governing.write_disposition.disposition === "merge" ? governing.primary_key : [],
  };
}

export function groupOf(resource: PlannedResource, keys: KeyStats): TableGroup {
  return {
    resource: resource.name,
    root: resource.table!,
    disposition: resource.write_disposition,
    primaryKey: resource.primary_key.map(keyColumn),
    mergeKey: resource.merge_key.map(keyColumn),
    keys,
  };
}
