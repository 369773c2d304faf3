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

/**
 * Extracts and normalises every selected unit without opening the database: what a run would
 * load, per table. Types are inferred afresh (the database's existing columns are not consulted).
 */
export async function dryRun(options: Omit<RunOptions, "lockTimeoutMs">): Promise<RunSummary> {
  const { plan } = options;
  const started = new Date();
  const extractor = extractorFor(options);
  const results: UnitResult[] = [];
  for (const unit of selectedUnits(options)) {
    const before = { ...extractor.counters };
    const startedMs = Date.now();
    const counts: Record<string, number> = {};
    const counter: RowSink = { table: (name) => ({ add: () => void (counts[name] = (counts[name] ?? 0) + 1) }) };
    let error: ErrorData | null = null;
    try {
      await extractUnit({
        plan,
        unit,
        options,
        extractor,
        schema: new Schema(),
        loadId: { current: "dry-run" },
        keys: unitKeys(plan, unit),
        sink: counter,
        cursors: new Map(),
        cursorUpdates: [],
        unitAbort: linkedAbort(options.signal),
      });
    } catch (caught) {
      error = errorData(loadError(caught, plan), redactWith(options));
      options.onEvent?.({ type: "unit_failed", unit: unit.name, error });
    }
    results.push(
      unitResult(
        { unit: unit.name, loadId: "dry-run", startedMs },
        { status: error ? "failed" : "committed", rows: counts, error, checkpoints: 0 },
        { extractor, before },
      ),
    );
  }
  const failed = results.some((result) => result.status === "failed");
  return summarize(
    { runId: "dry-run", plan, started, finished: new Date() },
    { status: failed ? "failed" : "succeeded", exitCode: failed ? 1 : 0 },
    extractor,
    results,
  );
}
