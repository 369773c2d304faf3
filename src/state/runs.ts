// Run and load records: `_rl_runs` (one row per run, written at start and at end) and `_rl_loads`.
import { hostname } from "node:os";
import type { Session } from "../db/session.ts";
import { type ErrorData, errorLine } from "../errors.ts";
import { toJson } from "../util/json.ts";

export type RunStatus = "running" | "succeeded" | "failed" | "interrupted";

export interface LoadRecord {
  readonly loadId: string;
  readonly runId: string;
  readonly unit: string;
  readonly status: "committed" | "failed";
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly rowsByTable: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly retries: number;
  /** Stored twice: `error` as the line `E_CODE: message` (what the status page shows), `error_data` as JSON. */
  readonly error: ErrorData | null;
  /** Per resource: pages, records, retries. */
  readonly resources: Readonly<Record<string, { pages: number; records: number; retries: number }>>;
  /** The checkpoint's number in its unit: 1, 2, … (a failed row: the checkpoint that failed). */
  readonly checkpoint: number;
  /** The unit's last row: its final commit, or its failure; false for a checkpoint with more to come. */
  readonly final: boolean;
  /** The root cursor this checkpoint reached, if the root has one that moved. */
  readonly cursorReached: CursorReached | null;
  /** The tables, columns and variant columns this checkpoint committed (none for a failed row). */
  readonly schemaChanges: readonly SchemaChange[];
}

/**
 * One element of `_rl_loads.schema_changes`: a table, column or variant column a checkpoint
 * committed. `column` and `data_type` (DuckDB's type name) are null for a new table, whose
 * columns come with it.
 *
 * @example
 * { table: "issues", column: "score__v_text", change: "variant_column", data_type: "VARCHAR" }
 */
export interface SchemaChange {
  readonly table: string;
  readonly column: string | null;
  readonly change: "new_table" | "new_column" | "variant_column";
  readonly data_type: string | null;
}

/** What `_rl_loads.cursor_reached` holds: where a rerun of the unit continues from. */
export interface CursorReached {
  readonly resource: string;
  readonly cursor_path: string;
  readonly last_value: unknown;
}

export async function insertRun(
  session: Session,
  dataset: string,
  run: { runId: string; pipeline: string; startedAt: Date },
): Promise<void> {
  await session.run(
    `INSERT INTO ${session.table(dataset, "_rl_runs")} (run_id, pipeline, started_at, status, pid, host) VALUES (?, ?, ?::TIMESTAMPTZ, 'running', ?, ?)`,
    [run.runId, run.pipeline, run.startedAt.toISOString(), process.pid, hostname()],
  );
}

export async function finishRun(
  session: Session,
  dataset: string,
  run: {
    runId: string;
    status: RunStatus;
    exitCode: number;
    rows: number;
    requests: number;
    retries: number;
    error: string | null;
    errorData: ErrorData | null;
    finishedAt: Date;
  },
): Promise<void> {
  await session.run(
    `UPDATE ${session.table(dataset, "_rl_runs")} SET finished_at = ?::TIMESTAMPTZ, status = ?, exit_code = ?, rows = ?, requests = ?, retries = ?, error = ?, error_data = ?::JSON WHERE run_id = ?`,
    [
      run.finishedAt.toISOString(),
      run.status,
      run.exitCode,
      run.rows,
      run.requests,
      run.retries,
      run.error,
      run.errorData === null ? null : toJson(run.errorData),
      run.runId,
    ],
  );
}

/** Writes a `_rl_loads` row; call inside the unit's transaction for a committed unit. */
export async function insertLoad(session: Session, dataset: string, load: LoadRecord): Promise<void> {
  await session.run(
    `INSERT INTO ${session.table(dataset, "_rl_loads")} (load_id, run_id, unit, status, started_at, finished_at, rows_by_table, requests, retries, error, error_data, resources, checkpoint, final, cursor_reached, schema_changes) VALUES (?, ?, ?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?::JSON, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?::JSON, ?::JSON)`,
    [
      load.loadId,
      load.runId,
      load.unit,
      load.status,
      load.startedAt.toISOString(),
      load.finishedAt.toISOString(),
      toJson(load.rowsByTable),
      load.requests,
      load.retries,
      load.error === null ? null : errorLine(load.error),
      load.error === null ? null : toJson(load.error),
      toJson(load.resources),
      load.checkpoint,
      load.final,
      load.cursorReached === null ? null : toJson(load.cursorReached),
      toJson(load.schemaChanges),
    ],
  );
}

/**
 * Records the start of a run, runs of the same pipeline left `running` marked `interrupted` first.
 * The caller holds the pipeline's run lock (`run/run-lock.ts`): no other run of it is alive.
 */
export async function startRun(
  session: Session,
  dataset: string,
  run: { runId: string; pipeline: string; startedAt: Date },
): Promise<void> {
  await session.transaction(async () => {
    await markAbandonedRuns(session, dataset, run.pipeline);
    await insertRun(session, dataset, run);
  });
}

/**
 * Runs of `pipeline` still marked "running" ended without finishing (killed, crashed, their
 * machine gone): only a holder of the pipeline's run lock may call this, so none of them is alive.
 * Their pid and host stay, for display.
 */
export async function markAbandonedRuns(session: Session, dataset: string, pipeline: string): Promise<void> {
  await session.run(
    `UPDATE ${session.table(dataset, "_rl_runs")} SET status = 'interrupted', error = 'the process ended before the run finished (killed or crashed)' WHERE status = 'running' AND pipeline = ?`,
    [pipeline],
  );
}
