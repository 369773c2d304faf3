// One load unit of a run, in one DuckDB transaction: its rows loaded as their segments complete
// while extraction goes on, its cursors and its `_rl_loads` row, then COMMIT; on failure ROLLBACK,
// and the failure recorded on its own.
import type { Session } from "../db/session.ts";
import { type ErrorData, errorData } from "../errors.ts";
import type { Extractor } from "../extract/index.ts";
import { readExistingSchema } from "../load/existing-schema.ts";
import { Stage } from "../load/stage.ts";
import { UnitWriter } from "../load/write.ts";
import { systemColumns } from "../normalize/flatten.ts";
import { Schema } from "../normalize/schema.ts";
import type { LoadUnit } from "../plan/index.ts";
import { governingTableInUnit } from "../plan/tables.ts";
import { deleteCursors, readCursors, writeCursor } from "../state/cursors.ts";
import { insertLoad } from "../state/runs.ts";
import type { ResourceStats } from "./events.ts";
import { newLoadId } from "./ids.ts";
import { interruptedError, loadError, redactWith } from "./load-error.ts";
import { unitKeys } from "./normalizers.ts";
import type { CursorUpdate } from "./records.ts";
import { unitResult } from "./summary.ts";
import type { RunOptions, UnitResult } from "./types.ts";
import { extractUnit, linkedAbort, unitResources } from "./unit-pipeline.ts";

export interface UnitRun {
  readonly session: Session;
  readonly options: RunOptions;
  readonly extractor: Extractor;
  readonly unit: LoadUnit;
  readonly runId: string;
  /** Counted by the run's event tee while the unit runs (`countResources`). */
  readonly resourceStats: Readonly<ResourceStats>;
}

/** Runs one unit to its COMMIT, or rolls it back; never throws for the unit's own failure. */
export async function runUnit({ session, options, extractor, unit, runId, resourceStats }: UnitRun): Promise<UnitResult> {
  const { plan } = options;
  const fullRefresh = options.fullRefresh === true;
  const loadId = newLoadId();
  const started = new Date();
  const before = { ...extractor.counters };
  options.onEvent?.({ type: "unit_started", unit: unit.name, loadId });
  const finish = (status: UnitResult["status"], rows: Record<string, number>, error: ErrorData | null): UnitResult =>
    unitResult({ unit: unit.name, loadId, startedMs: started.getTime() }, { status, rows, error }, { extractor, before });
  let stage: Stage | undefined;
  let writer: UnitWriter | undefined;
  let open = false;
  try {
    const schema = new Schema(await readExistingSchema(session, plan.dataset));
    const keys = unitKeys(plan, unit);
    const names = unitResources(plan, unit).map((resource) => resource.name);
    const cursors = fullRefresh ? new Map() : await readCursors(session, plan.dataset, plan.pipeline, names);
    const cursorUpdates: CursorUpdate[] = [];
    const unitAbort = linkedAbort(options.signal);
    // The unit's transaction is open while it extracts: each staged segment is loaded as soon as
    // it is complete (DuckDB works on its own thread), and nothing is visible before COMMIT.
    await session.run("BEGIN TRANSACTION");
    open = true;
    const unitWriter = new UnitWriter({
      session,
      dataset: plan.dataset,
      schema,
      system: systemColumns(plan.system_prefix),
      loadId,
      unit: unit.name,
      tables: plan.tables,
      keys,
      fullRefresh,
      signal: unitAbort.signal,
      onError: (error) => {
        if (!unitAbort.signal.aborted) unitAbort.abort(error);
      },
    });
    writer = unitWriter;
    stage = new Stage(
      `${plan.database}.stage/${loadId}`,
      (staged, segment) => unitWriter.add(staged, segment),
      (table, resource) => governingTableInUnit(plan, { unit: unit.name, table, firstRowsOf: resource }),
    );
    await extractUnit({ plan, unit, options, extractor, schema, loadId, keys, sink: stage, cursors, cursorUpdates, unitAbort });
    stage.closeAll();
    if (options.signal?.aborted) throw interruptedError(options.signal, "unit");
    const rows = await unitWriter.finish();
    // The cursors move with the rows they cover, in the same transaction.
    if (fullRefresh) for (const name of names) await deleteCursors(session, plan.dataset, plan.pipeline, name);
    for (const update of cursorUpdates) {
      await writeCursor(session, plan.dataset, {
        pipeline: plan.pipeline,
        resource: update.resource,
        parentKey: update.parentKey,
        cursorPath: update.cursorPath,
        loadId,
        value: update.value,
      });
    }
    await insertLoad(session, plan.dataset, {
      loadId,
      runId,
      unit: unit.name,
      status: "committed",
      startedAt: started,
      finishedAt: new Date(),
      rowsByTable: rows,
      requests: extractor.counters.requests - before.requests,
      retries: extractor.counters.retries - before.retries,
      error: null,
      resources: resourceStats,
    });
    if (options.signal?.aborted) throw interruptedError(options.signal, "unit");
    options.onCrashPoint?.("before_commit", unit.name);
    await session.run("COMMIT");
    open = false;
    options.onCrashPoint?.("after_commit", unit.name);
    options.onEvent?.({ type: "unit_committed", unit: unit.name, rows });
    return finish("committed", rows, null);
  } catch (caught) {
    // A failed write stops extraction: its error is the one to report.
    const cause = writer?.error ?? caught;
    const error = errorData(
      options.signal?.aborted ? interruptedError(options.signal, "unit") : loadError(cause, plan),
      redactWith(options),
    );
    await writer?.settled();
    if (open) await session.run("ROLLBACK").catch(() => {});
    // The unit's data rolled back with its transaction; its failure is recorded on its own.
    const result = finish("failed", {}, error);
    await insertLoad(session, plan.dataset, {
      loadId,
      runId,
      unit: unit.name,
      status: "failed",
      startedAt: started,
      finishedAt: new Date(),
      rowsByTable: {},
      requests: result.requests,
      retries: result.retries,
      error,
      resources: resourceStats,
    });
    options.onEvent?.({ type: "unit_failed", unit: unit.name, error });
    return result;
  } finally {
    stage?.remove();
  }
}
