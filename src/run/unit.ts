// One load unit of a run, committed in checkpoints: each one DuckDB transaction holding the rows
// staged since the previous one (loaded as their segments complete, while extraction goes on), the
// cursors as of its safe point and its own `_rl_loads` row under its own load id. On failure what
// followed the last checkpoint rolls back, and the failure is recorded on its own.
import type { AttachableDatabase } from "../db/attachable.ts";
import { type ErrorData, errorData, errorLine } from "../errors.ts";
import type { Extractor } from "../extract/index.ts";
import { readExistingSchema } from "../load/existing-schema.ts";
import { Stage } from "../load/stage.ts";
import { UnitWriter } from "../load/write.ts";
import { systemColumns } from "../normalize/flatten.ts";
import { Schema } from "../normalize/schema.ts";
import { type UnitCheckpoints, unitCheckpoints } from "../plan/checkpoints.ts";
import type { LoadUnit } from "../plan/index.ts";
import { governingTableInUnit } from "../plan/tables.ts";
import { deleteCursors, readCursors } from "../state/cursors.ts";
import { insertLoad } from "../state/runs.ts";
import { CheckpointRecorder } from "./checkpoint.ts";
import type { ResourceStats } from "./events.ts";
import { LoadIds } from "./ids.ts";
import { interruptedError, loadError, redactWith } from "./load-error.ts";
import { unitKeys } from "./normalizers.ts";
import type { CursorUpdate } from "./records.ts";
import { unitResult } from "./summary.ts";
import type { RunOptions, UnitResult } from "./types.ts";
import { extractUnit, linkedAbort, unitResources } from "./unit-pipeline.ts";

export interface UnitRun {
  /** The run's database, attached only while read or written. */
  readonly database: AttachableDatabase;
  readonly options: RunOptions;
  readonly extractor: Extractor;
  readonly unit: LoadUnit;
  readonly runId: string;
  /** Where the run stages its rows (`<database>.stage/<dataset>-<pid>`). */
  readonly stageDir: string;
  /** Counted by the run's event tee while the unit runs (`countResources`). */
  readonly resourceStats: Readonly<ResourceStats>;
}

/** Runs one unit to its final COMMIT, or rolls back what followed its last checkpoint; never throws for the unit's own failure. */
export async function runUnit({ database, options, extractor, unit, runId, stageDir, resourceStats }: UnitRun): Promise<UnitResult> {
  const { plan } = options;
  const fullRefresh = options.fullRefresh === true;
  const loadIds = new LoadIds();
  const firstLoadId = loadIds.current;
  const started = new Date();
  const before = { ...extractor.counters };
  options.onEvent?.({ type: "unit_started", unit: unit.name, load_id: firstLoadId });
  let stage: Stage | undefined;
  let writer: UnitWriter | undefined;
  let recorder: CheckpointRecorder | undefined;
  try {
    // The file is held only to read what the unit starts from; the writer attaches it again when it has rows.
    const session = await database.acquire();
    const schema = new Schema(await readExistingSchema(session, plan.dataset));
    const names = unitResources(plan, unit).map((resource) => resource.name);
    const cursors = fullRefresh ? new Map() : await readCursors(session, plan.dataset, plan.pipeline, names);
    await database.release();
    const keys = unitKeys(plan, unit);
    const cursorUpdates: CursorUpdate[] = [];
    const unitAbort = linkedAbort(options.signal);
    const unitWriter = new UnitWriter({
      session,
      file: database,
      dataset: plan.dataset,
      schema,
      system: systemColumns(plan.system_prefix),
      loadId: loadIds,
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
    const unitStage = new Stage(
      `${stageDir}/${firstLoadId}`,
      (staged, segment) => unitWriter.add(staged, segment),
      (table, resource) => governingTableInUnit(plan, { unit: unit.name, table, firstRowsOf: resource }),
    );
    stage = unitStage;
    const checkpoints: UnitCheckpoints = unitCheckpoints(plan, unit, { fullRefresh });
    const unitRecorder = new CheckpointRecorder({
      session,
      options,
      extractor,
      unit: unit.name,
      runId,
      loadIds,
      writer: unitWriter,
      stage: unitStage,
      keys,
      cursorUpdates,
      resourceStats,
      intervalMs: checkpoints.mode === "end" ? Number.POSITIVE_INFINITY : plan.checkpoint_interval * 1000,
      // A full refresh forgets the stored cursors in the transaction that replaces the tables.
      beforeFinal: fullRefresh
        ? async () => {
            for (const name of names) await deleteCursors(session, plan.dataset, plan.pipeline, name);
          }
        : undefined,
    });
    recorder = unitRecorder;
    const safePoint = async (root: CursorUpdate) => {
      if (options.signal?.aborted) throw interruptedError(options.signal, "unit");
      await unitRecorder.commit({ final: false, root });
    };
    await extractUnit({
      plan,
      unit,
      options,
      extractor,
      schema,
      loadId: loadIds,
      keys,
      sink: unitStage,
      cursors,
      cursorUpdates,
      unitAbort,
      ...(checkpoints.mode === "windows"
        ? {
            onWindowFinished: async (finished) => {
              // Only the root's windows are the unit's safe points; a child's window is one parent record's.
              if (finished.resource === unit.name && finished.parentKey === "" && unitRecorder.due()) await safePoint(finished);
            },
          }
        : {}),
      ...(checkpoints.mode === "pages" ? { pageSafePoints: { due: () => unitRecorder.due(), reached: safePoint } } : {}),
    });
    if (options.signal?.aborted) throw interruptedError(options.signal, "unit");
    await unitRecorder.commit({ final: true });
    const rows = unitWriter.committed;
    options.onEvent?.({ type: "unit_committed", unit: unit.name, rows_by_table: rows, checkpoints: unitRecorder.committedCount });
    return unitResult(
      { unit: unit.name, loadId: firstLoadId, startedMs: started.getTime() },
      {
        status: "committed",
        rows,
        error: null,
        checkpoints: unitRecorder.committedCount,
        schemaChanges: unitRecorder.schemaChanges,
      },
      { extractor, before },
    );
  } catch (caught) {
    // A failed write stops extraction: its error is the one to report.
    const cause = writer?.error ?? caught;
    const error = errorData(
      options.signal?.aborted ? interruptedError(options.signal, "unit") : loadError(cause, plan),
      redactWith(options),
    );
    // What followed the last checkpoint rolls back; the checkpoints committed stay.
    await writer?.rollback();
    const committed = recorder?.committedCount ?? 0;
    const failedLoadId = loadIds.current;
    const failedCheckpoint = loadIds.checkpoint;
    const result = unitResult(
      { unit: unit.name, loadId: firstLoadId, startedMs: started.getTime() },
      // The checkpoints kept keep their schema changes; the rolled-back part's are gone.
      { status: "failed", rows: writer?.committed ?? {}, error, checkpoints: committed, schemaChanges: recorder?.schemaChanges ?? [] },
      { extractor, before },
    );
    await recordFailure(
      database,
      () => ({
        loadId: failedLoadId,
        runId,
        unit: unit.name,
        status: "failed",
        startedAt: recorder?.checkpointStarted ?? started,
        finishedAt: new Date(),
        rowsByTable: {},
        requests: recorder ? recorder.requestsSince() : result.requests,
        retries: recorder ? recorder.retriesSince() : result.retries,
        error,
        resources: recorder ? recorder.resourcesSince() : resourceStats,
        checkpoint: failedCheckpoint,
        final: true,
        cursorReached: null,
        schemaChanges: [],
      }),
      plan.dataset,
    ).catch((failed) => {
      // The file is still held elsewhere (the failure may be that very lock): the unit's failure
      // is reported and the run goes on, its own record is attempted at its end.
      options.onEvent?.({
        type: "warning",
        unit: unit.name,
        message: `The failure of unit "${unit.name}" is not recorded in _rl_loads: ${errorLine(errorData(failed, redactWith(options)))}`,
      });
    });
    options.onEvent?.({ type: "unit_failed", unit: unit.name, error });
    return result;
  } finally {
    stage?.remove();
  }
}

/** Writes a failed unit's `_rl_loads` row, attaching the file for it; rejects when it cannot. */
async function recordFailure(database: AttachableDatabase, row: () => Parameters<typeof insertLoad>[2], dataset: string): Promise<void> {
  const session = await database.acquire();
  try {
    await insertLoad(session, dataset, row());
  } finally {
    await database.release().catch(() => {});
  }
}
