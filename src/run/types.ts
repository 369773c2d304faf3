// What a run takes and what it reports: its options, its events, each unit's result, its summary.
import type { Redactor } from "../config/redact.ts";
import type { ErrorData } from "../errors.ts";
import type { Clock } from "../extract/clock.ts";
import type { Plan } from "../plan/index.ts";
import type { SchemaChange } from "../state/runs.ts";
import type { CrashPointHook } from "./crash-points.ts";

export type { SchemaChange };

/**
 * What a run reports as it goes. Keys are spelled as in `--log-format json`, `--json` and the system
 * tables (snake_case), so every consumer reads one spelling.
 */
export type RunEvent =
  /** First of a run, before the database is opened: the run's id for every later line. */
  | {
      readonly type: "run_started";
      readonly run_id: string;
      readonly pipeline: string;
      readonly database: string;
      readonly dataset: string;
    }
  | { readonly type: "unit_started"; readonly unit: string; readonly load_id: string }
  | { readonly type: "page"; readonly unit: string; readonly resource: string; readonly page: number; readonly records: number }
  | {
      readonly type: "retry";
      readonly resource: string;
      /** The attempt that failed: 1 for the first request. */
      readonly attempt: number;
      readonly reason: string;
      readonly delay_ms: number;
    }
  | {
      readonly type: "checkpoint";
      readonly unit: string;
      /** 1, 2, … within the unit; the final commit is `unit_committed`. */
      readonly checkpoint: number;
      readonly load_id: string;
      /** Rows this checkpoint committed. */
      readonly rows: number;
      /** The root cursor it reached (where a rerun continues). */
      readonly cursor: unknown;
    }
  /** A table, column or variant column a checkpoint committed (after its COMMIT), one event each. */
  | ({ readonly type: "schema_changed"; readonly unit: string; readonly load_id: string } & SchemaChange)
  | {
      readonly type: "unit_committed";
      readonly unit: string;
      /** Rows over all of the unit's checkpoints. */
      readonly rows_by_table: Readonly<Record<string, number>>;
      readonly checkpoints: number;
    }
  | { readonly type: "unit_failed"; readonly unit: string; readonly error: ErrorData }
  /** Something the run could not do and went on without (a failed unit's `_rl_loads` row while the file is held elsewhere). */
  | { readonly type: "warning"; readonly unit: string; readonly message: string }
  /** A line a module resource wrote with `ctx.log` (secrets masked). */
  | { readonly type: "module_log"; readonly unit: string; readonly resource: string; readonly message: string };

export interface RunOptions {
  readonly plan: Plan;
  readonly secrets: ReadonlyMap<string, string>;
  readonly redactor: Redactor;
  /** Root resources to run (their units); all when absent. */
  readonly units?: readonly string[] | undefined;
  readonly lockTimeoutMs: number;
  readonly onEvent?: (event: RunEvent) => void;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch | undefined;
  /** Reset the cursors of the selected units and replace their tables. */
  readonly fullRefresh?: boolean | undefined;
  /** Aborted (reason "SIGTERM" or "SIGINT") to stop the run: the open unit rolls back. */
  readonly signal?: AbortSignal | undefined;
  /** Called at each crash point; tests of atomicity pass one that kills the process there. */
  readonly onCrashPoint?: CrashPointHook | undefined;
}

export interface UnitResult {
  readonly unit: string;
  /** The load id of the unit's first checkpoint (each checkpoint has its own, in `_rl_loads`). */
  readonly load_id: string;
  readonly status: "committed" | "failed";
  /** Checkpoints committed (the final commit included); a failed unit keeps these. */
  readonly checkpoints: number;
  readonly rows_by_table: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly retries: number;
  readonly duration_ms: number;
  /** Tables, columns and variant columns the unit's committed checkpoints added, in order. */
  readonly schema_changes: readonly SchemaChange[];
  /** Secrets masked, context included. */
  readonly error: ErrorData | null;
}

export interface RunSummary {
  readonly run_id: string;
  readonly pipeline: string;
  readonly database: string;
  readonly dataset: string;
  readonly status: "succeeded" | "failed" | "interrupted";
  readonly exit_code: number;
  readonly started_at: string;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly rows: number;
  readonly requests: number;
  readonly retries: number;
  readonly units: readonly UnitResult[];
}
