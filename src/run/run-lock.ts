// The pipeline's run lock: a small DuckDB file beside the database, `<database>.<dataset>.<pipeline>.run-lock`,
// held open for the whole run. DuckDB locks its files with fcntl, which the system releases when
// the process ends however it ends (kill -9 included), and it is the one file lock every runtime
// restload builds for shares. A run that gets the lock knows no other run of the pipeline is alive,
// whatever its pid or host: runs left `running` are over. The file stays after the run (harmless,
// reused by the next one). Measured here: opening and closing it takes ~15 ms.
import { dirname, join, basename } from "node:path";
import { openDatabase } from "../db/open.ts";
import { describeLockHolder } from "../db/lock-holder.ts";
import { RestloadError, messageOf } from "../errors.ts";

export interface RunLock {
  readonly path: string;
  /** Lets the lock go; safe to call twice. */
  release(): void;
}

/** The lock file of `pipeline` writing `dataset` of `database`, in the database's directory. */
export function runLockPath(database: string, dataset: string, pipeline: string): string {
  const safe = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, "_");
  return join(dirname(database), `${basename(database)}.${safe(dataset)}.${safe(pipeline)}.run-lock`);
}

/**
 * Takes the run lock, waiting up to `lockTimeoutMs` while another run of the pipeline holds it;
 * E_LOCKED (exit 75) names that run's process.
 */
export async function takeRunLock(
  database: string,
  run: { readonly dataset: string; readonly pipeline: string; readonly lockTimeoutMs: number },
): Promise<RunLock> {
  const path = runLockPath(database, run.dataset, run.pipeline);
  try {
    const db = await openDatabase(path, { create: true, lockTimeoutMs: run.lockTimeoutMs, memoryLimit: "16MB", threads: 1 });
    return { path, release: () => db.close() };
  } catch (error) {
    if (!(error instanceof RestloadError) || error.code !== "E_LOCKED") throw error;
    const seconds = Math.round(run.lockTimeoutMs / 100) / 10;
    throw new RestloadError(
      "E_LOCKED",
      `Cannot run pipeline "${run.pipeline}" into dataset "${run.dataset}" of database "${database}" as ${describeLockHolder(messageOf(error.cause))} is running it (waited ${seconds} s)`,
      {
        hint: "Wait for that run to finish, or raise --lock-timeout; two runs of one pipeline never load at the same time.",
        context: { file: database },
        cause: error,
      },
    );
  }
}
