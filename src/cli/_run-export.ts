// `[export] dir`: after a run whose every unit committed, the run's tables published as Parquet
// (SPEC §12). The run has closed the database by then; the export takes it only while it reads.
import { type ErrorData, errorData } from "../errors.ts";
import type { ExportResult } from "../export/index.ts";
import { datasetFolder } from "../export/layout.ts";
import { inExportScope } from "../export/scope.ts";
import type { Plan, PlannedResource } from "../plan/index.ts";
import type { CrashPointHook } from "../run/crash-points.ts";

/** An export that published its files (and recorded itself in `_rl_exports`): the export's totals, its duration. */
export type ExportDone = Pick<
  ExportResult,
  | "export_id"
  | "dir"
  | "tables_written"
  | "tables_unchanged"
  | "tables_removed"
  | "files_written"
  | "rows_written"
  | "bytes_written"
  | "record_error"
> & { readonly status: "ok"; readonly duration_ms: number };

/** An export that failed: the run's rows stay committed; the next run (or `restload export`) publishes them. */
export interface ExportFailed {
  readonly status: "failed";
  readonly dir: string;
  readonly duration_ms: number;
  readonly error: ErrorData;
}

/** How the export after a run ended, in the log, the summary and `--json` (`export`, null when none ran). */
export type RunExport = ExportDone | ExportFailed;

export interface RunExportRequest {
  readonly plan: Plan & { readonly export: NonNullable<Plan["export"]> };
  /** The run's `--select`ed roots: only their units' tables; undefined for every table. */
  readonly roots: readonly PlannedResource[] | undefined;
  readonly runId: string;
  readonly lockTimeoutMs: number;
  /** Masks the pipeline's secrets in the error's texts. */
  readonly redact: (text: string) => string;
  /** Aborted on SIGTERM/SIGINT: the export stops before its next table. */
  readonly signal: AbortSignal | undefined;
  /** Passed on to the export (tests kill the process at its crash points). */
  readonly onCrashPoint: CrashPointHook | undefined;
}

/** The dataset's export folder of a plan with `[export]`. */
export function exportFolder(plan: RunExportRequest["plan"]): string {
  return datasetFolder(plan.export.dir, plan.dataset);
}

/** Whether a run ended so that it exports: every unit committed, a real run, `[export]` set. */
export function exportsAfter(plan: Plan, run: { readonly exitCode: number; readonly dryRun: boolean }): plan is RunExportRequest["plan"] {
  return plan.export !== null && run.exitCode === 0 && !run.dryRun;
}

/**
 * Exports the dataset after a successful run. Never throws: a failure (whatever it is) comes back
 * as `ExportFailed`, since the run's own outcome is already committed and recorded.
 */
export async function exportAfterRun(request: RunExportRequest): Promise<RunExport> {
  const { plan, roots } = request;
  const startedMs = Date.now();
  try {
    // DuckDB is loaded only by commands that need it, so --help and --version stay instant.
    const { exportDataset } = await import("../export/index.ts");
    const result = await exportDataset({
      database: plan.database,
      dataset: plan.dataset,
      dir: plan.export.dir,
      lockTimeoutMs: request.lockTimeoutMs,
      memoryLimit: plan.duckdb_memory_limit,
      systemPrefix: plan.system_prefix,
      inScope: (table) => inExportScope(plan, roots, table),
      runId: request.runId,
      redact: request.redact,
      signal: request.signal,
      onCrashPoint: request.onCrashPoint,
    });
    return {
      status: "ok",
      export_id: result.export_id,
      dir: result.dir,
      tables_written: result.tables_written,
      tables_unchanged: result.tables_unchanged,
      tables_removed: result.tables_removed,
      files_written: result.files_written,
      rows_written: result.rows_written,
      bytes_written: result.bytes_written,
      duration_ms: Date.now() - startedMs,
      record_error: result.record_error === null ? null : request.redact(result.record_error),
    };
  } catch (error) {
    return { status: "failed", dir: exportFolder(plan), duration_ms: Date.now() - startedMs, error: errorData(error, request.redact) };
  }
}
