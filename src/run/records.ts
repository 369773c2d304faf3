// The records of a unit: each resource's pages walked, children per parent record, rows staged.
import type { Extractor } from "../extract/index.ts";
import type { Normalizer } from "../normalize/flatten.ts";
import type { PlannedResource } from "../plan/index.ts";
import { crashPoint } from "./crash-points.ts";
import type { RunOptions } from "./index.ts";

/** Where normalised rows go: the unit's stage, or a counter for a dry run. */
export interface RowSink {
  table(name: string): { add(values: Record<string, unknown>): void };
}

export interface UnitContext {
  readonly options: Pick<RunOptions, "onEvent" | "signal">;
  readonly extractor: Extractor;
  readonly normalizers: ReadonlyMap<string, Normalizer>;
  readonly stage: RowSink;
  readonly unit: string;
  readonly resources: readonly PlannedResource[];
}

/** Extracts a resource (for one parent record, when it is a child), its records staged, then its children's. */
export async function extractResource(resource: PlannedResource, parent: unknown, context: UnitContext): Promise<void> {
  const children = context.resources.filter((candidate) => candidate.parent === resource.name);
  const normalizer = context.normalizers.get(resource.name);
  const signal = context.options.signal;
  for await (const page of context.extractor.pages(resource, parent === undefined ? { signal } : { parent, signal })) {
    context.options.onEvent?.({ type: "page", unit: context.unit, resource: resource.name, page: page.number, records: page.records.length });
    crashPoint(`page_${page.number}`, context.unit);
    for (const raw of page.records) {
      const record = withParentFields(resource, raw, parent);
      if (normalizer) {
        const rows = normalizer.rows(record);
        if (rows) for (const row of rows) context.stage.table(row.table).add(row.values);
      }
      for (const child of children) await extractResource(child, record, context);
    }
  }
}

/** `include_from_parent = ["id"]` copies the parent's `id` into the record as `_<parent>_id`. */
function withParentFields(resource: PlannedResource, record: unknown, parent: unknown): unknown {
  if (parent === undefined || resource.include_from_parent.length === 0 || record === null || typeof record !== "object" || Array.isArray(record)) return record;
  const copy: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const field of resource.include_from_parent) copy[`_${resource.parent}_${field}`] = (parent as Record<string, unknown>)[field];
  return copy;
}

