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
    `INSERT INTO ${session.table(dataset, "_rl_loads")} (load_id, run_id, unit, status, started_at, finished_at, rows_by_table, requests, retries, error, error_data, resources) VALUES (?, ?, ?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?::JSON, ?, ?, ?, ?::JSON, ?::JSON)`,
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
    ],
  );
}
