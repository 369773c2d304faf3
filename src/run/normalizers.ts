// How a unit's resources are normalised: each resource's shape, its keys and root ids following
// the planned table its rows go to (whose governing resource may be another of the unit's).
import { type CurrentLoadId, Normalizer, type ResourceShape, TableKeys, systemColumns } from "../normalize/flatten.ts";
import { normalizeIdentifier } from "../normalize/naming.ts";
import type { Contract, Schema } from "../normalize/schema.ts";
import type { LoadUnit, Plan, PlannedResource } from "../plan/index.ts";
import { type PlannedTable, plannedTableNamed } from "../plan/tables.ts";
import { idGenerator } from "./ids.ts";

/**
 * One key tracker per root table of the unit: resources of a unit writing the same table share
 * it, so a key repeated across them is caught too; the writer reads it.
 */
export function unitKeys(plan: Pick<Plan, "tables">, unit: LoadUnit): Map<string, TableKeys> {
  return new Map(plan.tables.filter((table) => table.unit === unit.name).map((table) => [table.name, new TableKeys()]));
}

/** A normaliser per resource of the unit that has a table, by resource name. */
export function normalizersFor(unit: {
  readonly plan: Pick<Plan, "resources" | "tables" | "system_prefix">;
  readonly resources: readonly PlannedResource[];
  readonly schema: Schema;
  readonly loadId: CurrentLoadId;
  readonly keys: ReadonlyMap<string, TableKeys>;
}): Map<string, Normalizer> {
  const { plan } = unit;
  const system = systemColumns(plan.system_prefix);
  const normalizers = new Map<string, Normalizer>();
  for (const resource of unit.resources) {
    if (resource.table === null) continue;
    const table = plannedTableNamed(plan.tables, resource.table)!;
    const governing = plan.resources.find((candidate) => candidate.name === table.resource)!;
    const keys = unit.keys.get(table.name) ?? new TableKeys();
    normalizers.set(
      resource.name,
      new Normalizer(unit.schema, shapeOf(resource, { table, governing }), system, unit.loadId, idGenerator(), keys),
    );
  }
  return normalizers;
}

// internal

/** How `resource`'s records are normalised; keys and root ids follow the table's governing resource. */
function shapeOf(resource: PlannedResource, rules: { readonly table: PlannedTable; readonly governing: PlannedResource }): ResourceShape {
  const merge = rules.table.disposition.disposition === "merge";
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
    rootIds: rules.table.root_ids,
    rowVersions: rules.table.row_versions,
    primaryKey: merge ? rules.table.primary_key : [],
    primaryKeyFields: merge ? rules.governing.primary_key : [],
  };
}
