// What a run reports: each unit's result and the run's summary, requests and retries counted by the extractor.
import type { ErrorData } from "../errors.ts";
import type { Extractor } from "../extract/index.ts";
import type { Plan } from "../plan/index.ts";
import type { RunSummary, SchemaChange, UnitResult } from "./types.ts";

/** A unit's result; requests and retries are the extractor's counts since `before`. */
export function unitResult(
  unit: { readonly unit: string; readonly loadId: string; readonly startedMs: number },
  outcome: {
    readonly status: UnitResult["status"];
    readonly rows: Readonly<Record<string, number>>;
    readonly error: ErrorData | null;
    readonly checkpoints: number;
    /** What the committed checkpoints added; none for a dry run. */
    readonly schemaChanges?: readonly SchemaChange[];
  },
  counts: { readonly extractor: Extractor; readonly before: Extractor["counters"] },
): UnitResult {
  return {
    unit: unit.unit,
    load_id: unit.loadId,
    status: outcome.status,
    checkpoints: outcome.checkpoints,
    rows_by_table: outcome.rows,
    requests: counts.extractor.counters.requests - counts.before.requests,
    retries: counts.extractor.counters.retries - counts.before.retries,
    duration_ms: Date.now() - unit.startedMs,
    schema_changes: outcome.schemaChanges ?? [],
    error: outcome.error,
  };
}

export function summarize(
  run: { readonly runId: string; readonly plan: Plan; readonly started: Date; readonly finished: Date },
  outcome: { readonly status: RunSummary["status"]; readonly exitCode: number },
  extractor: Extractor,
  units: readonly UnitResult[],
): RunSummary {
  const { runId, plan, started, finished } = run;
  return {
    run_id: runId,
    pipeline: plan.pipeline,
    database: plan.database,
    dataset: plan.dataset,
    status: outcome.status,
    exit_code: outcome.exitCode,
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    rows: units.reduce((sum, unit) => sum + Object.values(unit.rows_by_table).reduce((a, b) => a + b, 0), 0),
    requests: extractor.counters.requests,
    retries: extractor.counters.retries,
    units,
  };
}
