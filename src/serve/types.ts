// What the status page knows of a database: the committed data last read from it, and its live runs.
import type { SchemaChange } from "../state/runs.ts";
import type { RunStatusDocument } from "../state/status-file.ts";

/** A failure as stored in `error_data` (code, message, hint, context), read tolerantly. */
export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
  readonly context: Readonly<Record<string, string>>;
}

export interface RunRow {
  readonly run_id: string;
  readonly pipeline: string;
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly status: string;
  readonly exit_code: number | null;
  readonly rows: number;
  readonly requests: number;
  readonly retries: number;
  /** Seconds, rounded to milliseconds. */
  readonly duration_s: number | null;
  readonly error: string | null;
  readonly error_data: ErrorInfo | null;
  /** The process and machine that ran it (a `running` row: whether it may still be alive). */
  readonly pid: number | null;
  readonly host: string | null;
}

export interface LoadRow {
  readonly load_id: string;
  readonly unit: string;
  /** The checkpoint's number within its unit's run (each checkpoint is a load of its own). */
  readonly checkpoint: number;
  /** The unit's last load: its final commit or its failure. */
  readonly final: boolean;
  readonly status: string;
  readonly started_at: string;
  readonly finished_at: string | null;
  /** Seconds, rounded to milliseconds. */
  readonly duration_s: number | null;
  readonly rows_by_table: Readonly<Record<string, number>>;
  readonly resources: Readonly<Record<string, { pages: number; records: number; retries: number }>>;
  readonly requests: number;
  readonly retries: number;
  readonly error: string | null;
  readonly error_data: ErrorInfo | null;
  /** Empty for databases written before schema changes were recorded. */
  readonly schema_changes: readonly SchemaChange[];
}

export interface TableRow {
  readonly table: string;
  readonly rows: number;
  /** When the newest committed load that wrote rows to the table finished, and its run. */
  readonly loaded_at: string | null;
  readonly loaded_by_run: string | null;
}

/**
 * A Parquet export of the dataset, as `_rl_exports` records it (written when the export ended, ok
 * or failed; `restload export`, or after a run with `[export] dir`).
 */
export interface ExportRow {
  readonly export_id: string;
  /** The run that triggered it; null for the `restload export` command. */
  readonly run_id: string | null;
  readonly started_at: string;
  readonly finished_at: string;
  /** Seconds, rounded to milliseconds. */
  readonly duration_s: number | null;
  /** `ok` or `failed`. */
  readonly status: string;
  /** The dataset's export folder, `DIR/<dataset>`. */
  readonly dir: string;
  readonly tables_written: number;
  readonly tables_unchanged: number;
  readonly files_written: number;
  readonly rows_written: number;
  readonly bytes_written: number;
  /** The failure's one-line text; null when ok. */
  readonly error: string | null;
}

/** Totals over every run of the pipeline ever recorded: what the counters of /metrics are. */
export interface PipelineTotals {
  /** Finished runs by status (`succeeded`, `failed`, `interrupted`). */
  readonly runs: Readonly<Record<string, number>>;
  /** Rows of every committed load (checkpoint). */
  readonly rows: number;
  /** Requests and retries of every recorded load, committed or failed. */
  readonly requests: number;
  readonly retries: number;
}

export interface PipelineSnapshot {
  readonly pipeline: string;
  readonly dataset: string;
  /** The recent runs (up to 30), newest first. */
  readonly runs: readonly RunRow[];
  readonly loads_by_run: Readonly<Record<string, readonly LoadRow[]>>;
  readonly last_success_at: string | null;
  readonly tables: readonly TableRow[];
  readonly cursors: readonly { resource: string; parent_key: string; last_value: string; updated_at: string | null }[];
  readonly totals: PipelineTotals;
  /**
   * The dataset's newest export by `finished_at` (an export covers the dataset, so every pipeline
   * of it shows the same one); null when there was none, or the database has no `_rl_exports`.
   */
  readonly last_export: ExportRow | null;
}

export interface DatabaseSnapshot {
  readonly database: string;
  /** When the committed data below was read; null while none could be read yet. */
  readonly read_at: string | null;
  readonly pipelines: readonly PipelineSnapshot[];
  /** The runs going on now (from their status files), one per dataset at most, newest first. */
  readonly live: readonly RunStatusDocument[];
  /** Runs whose status file says they ended, which the committed data read may not show yet. */
  readonly ended_run_ids: readonly string[];
  /** Why the newest read failed (held by a run, missing file): the data shown is from `read_at`. */
  readonly note: string | null;
  /**
   * What kind of failure `note` is: `missing` (no file), `locked` (another process holds it, as a
   * run does while it writes) or `failed` (it cannot be read: damaged, not a database, no access).
   */
  readonly read_failure: ReadFailure | null;
}

export type ReadFailure = "missing" | "locked" | "failed";
