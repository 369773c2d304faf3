// The records of one load unit from extract to the row sink, as both a run and a dry run wire
// them: the plan's resources of the unit, a normaliser each, every chain under one abort.
import type { Extractor } from "../extract/index.ts";
import type { StoredCursor } from "../extract/incremental.ts";
import type { CurrentLoadId, TableKeys } from "../normalize/flatten.ts";
import type { Schema } from "../normalize/schema.ts";
import type { LoadUnit, Plan, PlannedResource } from "../plan/index.ts";
import { normalizersFor } from "./normalizers.ts";
import { type CursorUpdate, type PageSafePoints, type RowSink, type UnitContext, extractResource } from "./records.ts";
import type { RunOptions } from "./types.ts";

export interface UnitPipeline {
  readonly plan: Plan;
  readonly unit: LoadUnit;
  readonly options: Pick<RunOptions, "onEvent" | "signal" | "onCrashPoint">;
  readonly extractor: Extractor;
  /** The tables and columns the rows are normalised against. */
  readonly schema: Schema;
  /** The load id rows are stamped with now (each checkpoint has its own). */
  readonly loadId: CurrentLoadId;
  /** The key trackers of the unit's root tables (`unitKeys`). */
  readonly keys: ReadonlyMap<string, TableKeys>;
  /** Where the rows go: the unit's stage, or a counter for a dry run. */
  readonly sink: RowSink;
  /** Stored cursors by `cursorKey`; empty on a full refresh or a dry run. */
  readonly cursors: ReadonlyMap<string, StoredCursor>;
  /** Filled with the cursors this unit moves. */
  readonly cursorUpdates: CursorUpdate[];
  /** Stops every chain of the unit (`linkedAbort`). */
  readonly unitAbort: AbortController;
  /** Where the unit may commit a checkpoint: window ends, ordered page boundaries (none for a dry run). */
  readonly onWindowFinished?: UnitContext["onWindowFinished"];
  readonly pageSafePoints?: PageSafePoints;
}

/** Extracts the unit's root resource, then its descendants per parent record; every row goes to the sink. */
export async function extractUnit(pipeline: UnitPipeline): Promise<void> {
  const { plan, unit } = pipeline;
  const resources = unitResources(plan, unit);
  const normalizers = normalizersFor({ plan, resources, schema: pipeline.schema, loadId: pipeline.loadId, keys: pipeline.keys });
  await extractResource(resources[0]!, undefined, {
    options: pipeline.options,
    extractor: pipeline.extractor,
    normalizers,
    stage: pipeline.sink,
    unit: unit.name,
    resources,
    cursors: pipeline.cursors,
    cursorUpdates: pipeline.cursorUpdates,
    walkedChains: new Set(),
    concurrency: plan.max_concurrency,
    unitAbort: pipeline.unitAbort,
    ...(pipeline.onWindowFinished ? { onWindowFinished: pipeline.onWindowFinished } : {}),
    ...(pipeline.pageSafePoints ? { pageSafePoints: pipeline.pageSafePoints } : {}),
  });
}

/** The unit's resources, the root first, parents before children. */
export function unitResources(plan: Pick<Plan, "resources">, unit: LoadUnit): PlannedResource[] {
  return unit.resources.map((name) => plan.resources.find((resource) => resource.name === name)!);
}

/** The units a run goes through: those of `options.units`, all when absent, in plan order. */
export function selectedUnits(options: Pick<RunOptions, "plan" | "units">): LoadUnit[] {
  return options.plan.units.filter((unit) => !options.units || options.units.includes(unit.name));
}

/** An AbortController that also aborts when `outer` does (the run being stopped). */
export function linkedAbort(outer: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
  return controller;
}
