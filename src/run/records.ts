// The records of a unit: each resource's pages walked, children per parent record, rows staged.
import type { Extractor } from "../extract/index.ts";
import type { StoredCursor } from "../extract/incremental.ts";
import type { CursorWindow } from "../extract/windows.ts";
import { valueAt } from "../extract/select.ts";
import { TaskPool } from "../extract/scheduler.ts";
import { parseTemplate } from "../plan/template.ts";
import { cursorKey } from "../state/cursors.ts";
import { toJson } from "../util/json.ts";
import type { Normalizer } from "../normalize/flatten.ts";
import type { PlannedResource } from "../plan/index.ts";
import type { RunOptions } from "./index.ts";

/** Where normalised rows go: the unit's stage, or a counter for a dry run. */
export interface RowSink {
  table(name: string, resource: string): { add(values: Record<string, unknown>, columns: ReadonlyMap<string, unknown>): void };
}

/** A cursor to store when the unit commits. */
export interface CursorUpdate {
  readonly resource: string;
  readonly parentKey: string;
  readonly cursorPath: string;
  readonly value: StoredCursor;
}

/**
 * A window of a windowed chain whose records, and the child chains of those records, are all
 * extracted and staged: a safe point, where `cursor` is what a rerun may continue from.
 */
export interface FinishedWindow extends CursorUpdate {
  readonly unit: string;
  readonly window: CursorWindow;
}

export interface UnitContext {
  readonly options: Pick<RunOptions, "onEvent" | "signal" | "onCrashPoint">;
  /** Stored cursors by `cursorKey`; empty on a full refresh or a dry run. */
  readonly cursors: ReadonlyMap<string, StoredCursor>;
  /** Filled with the cursors this unit moves. */
  readonly cursorUpdates: CursorUpdate[];
  /** Child chains with a cursor walked so far, by cursor key: a parent record that comes twice in a unit loads its children once. */
  readonly walkedChains: Set<string>;
  /** How many child chains may run at once (`max_concurrency`). */
  readonly concurrency: number;
  /** Stops every chain of the unit: aborted on the first failure (and when the run is stopped). */
  readonly unitAbort: AbortController;
  readonly extractor: Extractor;
  readonly normalizers: ReadonlyMap<string, Normalizer>;
  readonly stage: RowSink;
  readonly unit: string;
  readonly resources: readonly PlannedResource[];
  /** Awaited after each finished window, before the next one is requested (where a checkpoint can commit). */
  readonly onWindowFinished?: (finished: FinishedWindow) => void | Promise<void>;
  /** Set when the root's records arrive in cursor order: its page boundaries are safe points. */
  readonly pageSafePoints?: PageSafePoints;
}

/**
 * Page boundaries of a root whose records arrive in cursor order. Only when `due()` (a checkpoint
 * is owed) are the child chains drained and `reached` awaited: draining at every page would cost
 * the concurrency of child chains across pages.
 */
export interface PageSafePoints {
  due(): boolean;
  /** Every record so far and its child chains are staged; `cursor` is what a rerun may continue from. */
  reached(cursor: CursorUpdate): Promise<void>;
}

/** Extracts a resource (for one parent record, when it is a child), its records staged, then its children's. */
export async function extractResource(resource: PlannedResource, parent: unknown, context: UnitContext): Promise<void> {
  const children = context.resources.filter((candidate) => candidate.parent === resource.name);
  const normalizer = context.normalizers.get(resource.name);
  const signal = context.unitAbort.signal;
  const parentKey = parent === undefined ? "" : parentKeyOf(resource, parent);
  if (parent !== undefined && resource.incremental) {
    // The same parent key twice would walk the same range from the same cursor again: rows twice.
    const chain = cursorKey(resource.name, parentKey, resource.incremental.cursor_path);
    if (context.walkedChains.has(chain)) return;
    context.walkedChains.add(chain);
  }
  const cursor = resource.incremental
    ? await context.extractor.incrementalCursor(
        resource,
        context.cursors.get(cursorKey(resource.name, parentKey, resource.incremental.cursor_path)),
      )
    : undefined;
  const pool = children.length > 0 ? new TaskPool(context.concurrency) : undefined;
  // With `window`, one request chain per window, one after another; else one chain for the range.
  const windows: Iterable<CursorWindow | undefined> = cursor?.windows() ?? [undefined];
  const root = parent === undefined;
  try {
    for (const window of windows) {
      if (window) cursor!.enter(window);
      let windowPages = 0;
      const options = {
        signal,
        incremental: cursor?.requestValues(),
        ...(parent === undefined ? {} : { parent }),
        log: (message: string) => context.options.onEvent?.({ type: "module_log", unit: context.unit, resource: resource.name, message }),
      };
      for await (const page of context.extractor.resourcePages(resource, options)) {
        context.options.onEvent?.({
          type: "page",
          unit: context.unit,
          resource: resource.name,
          page: page.number,
          records: page.records.length,
        });
        const filtered = cursor ? cursor.filter(page.records) : { kept: page.records, stop: false };
        const records = filtered.kept.map((raw) => withParentFields(resource, raw, parent));
        for (const record of records) {
          if (normalizer) {
            const rows = normalizer.rows(record);
            if (rows) for (const row of rows) context.stage.table(row.table, resource.name).add(row.values, row.columns);
          }
        }
        context.options.onCrashPoint?.(`page_${page.number}`, context.unit);
        if (root && window && ++windowPages === 1) context.options.onCrashPoint?.(`window_${window.index + 1}`, context.unit);
        // Child chains of different parent records run concurrently (the client's limiter caps the
        // requests in flight); the pool holds back the parent chain when too many wait.
        if (pool)
          for (const record of records)
            await pool.submit(async () => {
              try {
                for (const child of children) await extractResource(child, record, context);
              } catch (error) {
                // One child chain failed: the unit will roll back, the sibling chains stop requesting.
                if (!context.unitAbort.signal.aborted) context.unitAbort.abort(error);
                throw error;
              }
            });
        // The records are ordered (row_order) and this page left the range: later pages would too.
        if (filtered.stop) break;
        if (root && cursor && resource.incremental && context.pageSafePoints?.due()) {
          await pool?.drain();
          const value = cursor.snapshot();
          if (value)
            await context.pageSafePoints.reached({
              resource: resource.name,
              parentKey,
              cursorPath: resource.incremental.cursor_path,
              value,
            });
        }
      }
      if (window && resource.incremental) {
        // The window is finished once the child chains of its records are.
        await pool?.drain();
        const value = cursor!.finish(window);
        await context.onWindowFinished?.({
          unit: context.unit,
          resource: resource.name,
          parentKey,
          cursorPath: resource.incremental.cursor_path,
          value,
          window,
        });
      }
    }
  } catch (error) {
    // Children already running stop, then the unit rolls back.
    if (!context.unitAbort.signal.aborted) context.unitAbort.abort(error);
    await pool?.drain().catch(() => {});
    throw error;
  }
  await pool?.drain();
  const next = cursor?.snapshot();
  if (next && resource.incremental)
    context.cursorUpdates.push({ resource: resource.name, parentKey, cursorPath: resource.incremental.cursor_path, value: next });
}

/**
 * A child's cursor belongs to its parent record: the canonical JSON of the parent values its
 * placeholders resolve to (`{"number":42}`); for a module resource, of the parent's primary key.
 */
function parentKeyOf(resource: PlannedResource, parent: unknown): string {
  const fields = new Set<string>(resource.module?.parent_key);
  const collect = (value: unknown): void => {
    if (typeof value === "string") {
      for (const part of parseTemplate(value)) if (typeof part !== "string" && part.kind === "resource") fields.add(part.field);
    } else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(collect);
  };
  collect(resource.path);
  collect(resource.params);
  collect(resource.json);
  collect(resource.data);
  collect(resource.headers);
  const sorted = [...fields].sort();
  return toJson(Object.fromEntries(sorted.map((field) => [field, valueAt(parent, field) ?? null])));
}

/** `include_from_parent = ["id"]` copies the parent's `id` into the record as `_<parent>_id`. */
function withParentFields(resource: PlannedResource, record: unknown, parent: unknown): unknown {
  if (
    parent === undefined ||
    resource.include_from_parent.length === 0 ||
    record === null ||
    typeof record !== "object" ||
    Array.isArray(record)
  )
    return record;
  const copy: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const field of resource.include_from_parent) copy[`_${resource.parent}_${field}`] = (parent as Record<string, unknown>)[field];
  return copy;
}
