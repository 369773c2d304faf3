// A dry run: every selected unit extracted and normalised as a run would, its rows counted per
// table instead of staged, without opening the database.
import { type ErrorData, errorData } from "../errors.ts";
import { Schema } from "../normalize/schema.ts";
import { extractorFor } from "./extractor.ts";
import { loadError, redactWith } from "./load-error.ts";
import { unitKeys } from "./normalizers.ts";
import type { RowSink } from "./records.ts";
import { summarize, unitResult } from "./summary.ts";
import type { RunOptions, RunSummary, UnitResult } from "./types.ts";
import { extractUnit, linkedAbort, selectedUnits } from "./unit-pipeline.ts";

/** The run id a dry run reports: it records nothing, so it has no id of its own. */
export const dryRunId = "dry-run";

/**
 * Extracts and normalises every selected unit without opening the database: what a run would
 * load, per table. Types are inferred afresh (the database's existing columns are not consulted).
 * Its events are a run's, its load ids `dry-run`: each unit's `unit_started`, its pages and
 * retries, then `unit_committed` with the rows it would load (no checkpoint) or `unit_failed`.
 */
export async function dryRun(options: Omit<RunOptions, "lockTimeoutMs">): Promise<RunSummary> {
  const { plan } = options;
  const started = new Date();
  options.onEvent?.({ type: "run_started", run_id: dryRunId, pipeline: plan.pipeline, database: plan.database, dataset: plan.dataset });
  const extractor = extractorFor(options);
  const results: UnitResult[] = [];
  for (const unit of selectedUnits(options)) {
    const before = { ...extractor.counters };
    const startedMs = Date.now();
    const counts: Record<string, number> = {};
    const counter: RowSink = { table: (name) => ({ add: () => void (counts[name] = (counts[name] ?? 0) + 1) }) };
    let error: ErrorData | null = null;
    options.onEvent?.({ type: "unit_started", unit: unit.name, load_id: dryRunId });
    try {
      await extractUnit({
        plan,
        unit,
        options,
        extractor,
        schema: new Schema(),
        loadId: { current: dryRunId },
        keys: unitKeys(plan, unit),
        sink: counter,
        cursors: new Map(),
        cursorUpdates: [],
        unitAbort: linkedAbort(options.signal),
      });
    } catch (caught) {
      error = errorData(loadError(caught, plan), redactWith(options));
    }
    options.onEvent?.(
      error === null
        ? { type: "unit_committed", unit: unit.name, rows_by_table: { ...counts }, checkpoints: 0 }
        : { type: "unit_failed", unit: unit.name, error },
    );
    results.push(
      unitResult(
        { unit: unit.name, loadId: dryRunId, startedMs },
        { status: error ? "failed" : "committed", rows: counts, error, checkpoints: 0 },
        { extractor, before },
      ),
    );
  }
  const failed = results.some((result) => result.status === "failed");
  return summarize(
    { runId: dryRunId, plan, started, finished: new Date() },
    { status: failed ? "failed" : "succeeded", exitCode: failed ? 1 : 0 },
    extractor,
    results,
  );
}
