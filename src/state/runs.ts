// Run and load records: `_rl_runs` (one row per run, written at start and at end) and `_rl_loads`.
import { hostname } from "node:os";
import type { Session } from "../db/session.ts";
import { type ErrorData, errorLine } from "../errors.ts";
import { toJson } from "../util/json.ts";
import { processAlive } from "../util/process-alive.ts";

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
    `INSERT INTO ${session.table(dataset, "_rl_loads")} (load_id, run_id, unit, status, started_at, finished_at, rows_by_table, requests, retries, error, error_data, resources, checkpoint, final, cursor_reached) VALUES (?, ?, ?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?::JSON, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?::JSON)`,
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
    ],
  );
}

/** A run of the same pipeline and dataset whose process is alive on this machine. */
export interface LiveRun {
  readonly runId: string;
  readonly pid: number;
  readonly startedAt: string;
}

/**
 * Records the start of a run in one transaction with the check that no run of the same pipeline
 * is alive (a run holds the file only while it writes, so two could otherwise interleave). Runs
 * left `running` by a process that is gone are marked `interrupted` first. Returns the live run
 * that stands in the way, or undefined once this run is recorded.
 */
export async function startRun(
  session: Session,
  dataset: string,
  run: { runId: string; pipeline: string; startedAt: Date },
): Promise<LiveRun | undefined> {
  return session.transaction(async () => {
    await markAbandonedRuns(session, dataset);
    const rows = await session.all(
      `SELECT run_id, pid, started_at::VARCHAR AS started_at FROM ${session.table(dataset, "_rl_runs")} WHERE status = 'running' AND pipeline = ? AND host = ?`,
      [run.pipeline, hostname()],
    );
    const live = rows.find((row) => processAlive(Number(row.pid)) && Number(row.pid) !== process.pid);
    if (live) return { runId: String(live.run_id), pid: Number(live.pid), startedAt: String(live.started_at) };
    await insertRun(session, dataset, run);
    return undefined;
  });
}

/**
 * Runs still marked "running" whose process is gone (killed, crashed) ended without finishing.
 * A run of another host cannot be checked: a DuckDB file is not shared between machines, so it
 * is gone too.
 */
export async function markAbandonedRuns(session: Session, dataset: string): Promise<void> {
  const table = session.table(dataset, "_rl_runs");
  const running = await session.all(`SELECT run_id, pid, host FROM ${table} WHERE status = 'running'`);
  const here = hostname();
  for (const row of running) {
    if (row.host === here && processAlive(Number(row.pid))) continue;
    await session.run(
      `UPDATE ${table} SET status = 'interrupted', error = 'the process ended before the run finished (killed or crashed)' WHERE run_id = ?`,
      [String(row.run_id)],
    );
  }
}
