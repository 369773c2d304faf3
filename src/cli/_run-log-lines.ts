// What each event of a run is in its log: a level, the fields `--log-format json` writes, the text line.
import { plural } from "../util/plural.ts";
import type { ErrorData } from "../errors.ts";
import type { RunEvent, RunSummary, SchemaChange } from "../run/index.ts";
import { formatError } from "./_format.ts";
import type { ExportDone, RunExport } from "./_run-export.ts";

/** Most severe first: a level shows its own lines and those before it. */
export const logLevels = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof logLevels)[number];

/** One event of the log: besides `fields`, a JSON line has `time`, `level`, `event` and `run_id`. */
export interface LogLine {
  readonly event: string;
  readonly level: LogLevel;
  readonly fields: object;
  /** One line, or several for an error with its problems and hint. */
  readonly text: string;
}

/**
 * A resource of the unit in progress: its pages and records so far, and its records per second
 * (over the last progress interval in a progress line, since the unit started on the live line).
 */
export interface ResourceProgress {
  readonly unit: string;
  readonly resource: string;
  readonly pages: number;
  readonly records: number;
  readonly records_per_second: number;
}

/**
 * How a run ended, for `run_finished`: the summary's figures, or what was counted before an error
 * ended it. `exit_code` is the command's: after a run that succeeded, its export's failure's (1; 75 locked; 130/143 interrupted).
 */
export type RunEnd = Pick<RunSummary, "status" | "exit_code" | "rows" | "requests" | "retries" | "duration_ms"> & {
  /** How the export after the run ended (`[export] dir`), for the text line; null when none ran. */
  readonly export?: RunExport["status"] | null;
};

/** What the lines of a run say besides its events: a dry run loads nothing, its units "would load". */
export interface LineContext {
  readonly dryRun: boolean;
}

export function eventLine(event: RunEvent, { dryRun }: LineContext): LogLine {
  switch (event.type) {
    case "run_started": {
      const { type: _, run_id, ...fields } = event;
      const where = `pipeline ${event.pipeline}, database: ${event.database} (dataset ${event.dataset})`;
      return line(event.type, "info", fields, dryRun ? `dry run: ${where}, nothing is written` : `run ${run_id}: ${where}`);
    }
    case "unit_started":
      return line(event.type, "info", fieldsOf(event), `unit ${event.unit}: started${dryRun ? "" : ` (load ${event.load_id})`}`);
    case "page":
      return line(
        event.type,
        "debug",
        fieldsOf(event),
        `unit ${event.unit}: ${event.resource} page ${event.page}, ${plural(event.records, "record")}`,
      );
    case "retry":
      return line(
        event.type,
        "warn",
        fieldsOf(event),
        `retry of ${event.resource}, attempt ${event.attempt} failed (${event.reason}); next in ${(event.delay_ms / 1000).toFixed(1)} s`,
      );
    case "checkpoint":
      return line(
        event.type,
        "info",
        fieldsOf(event),
        `unit ${event.unit}: checkpoint ${event.checkpoint} committed ${plural(event.rows, "row")} (load ${event.load_id})${event.cursor === null ? "" : `, cursor at ${String(event.cursor)}`}`,
      );
    case "schema_changed":
      return line(event.type, "info", fieldsOf(event), `unit ${event.unit}: schema: ${schemaChangeText(event)}`);
    case "unit_committed": {
      const rows = total(event.rows_by_table);
      return line(
        event.type,
        "info",
        { unit: event.unit, rows, rows_by_table: event.rows_by_table, checkpoints: event.checkpoints },
        dryRun
          ? `unit ${event.unit}: would load ${plural(rows, "row")}`
          : `unit ${event.unit}: committed ${plural(rows, "row")}${event.checkpoints > 1 ? ` in ${event.checkpoints} checkpoints` : ""}`,
      );
    }
    case "unit_failed":
      return line(
        event.type,
        "error",
        { unit: event.unit, ...event.error },
        `unit ${event.unit}: failed${dryRun ? "" : ", rolled back"}\n${formatError(event.error)}`,
      );
    case "warning":
      return line(event.type, "warn", fieldsOf(event), `unit ${event.unit}: ${event.message}`);
    case "module_log":
      return line(event.type, "info", fieldsOf(event), `unit ${event.unit}: ${event.resource}: ${event.message}`);
  }
}

export function progressLine(progress: ResourceProgress): LogLine {
  return line("progress", "info", progress, `unit ${progress.unit}: ${progressText(progress)}`);
}

/** `issues 12 pages, 1200 records, 340 records/s`: a resource's progress, in a log line or on a terminal. */
export function progressText(progress: ResourceProgress): string {
  return `${progress.resource} ${plural(progress.pages, "page")}, ${plural(progress.records, "record")}, ${progress.records_per_second.toFixed(0)} records/s`;
}

/** What ended the command before its run could finish (the pipeline file, a secret, the lock), as data. */
export function runFailedLine(error: ErrorData): LogLine {
  return line("run_failed", "error", error, formatError(error));
}

/** `export_started`: the export after a successful run (`[export] dir`) begins; `dir` is the dataset's export folder. */
export function exportStartedLine(dir: string): LogLine {
  return line("export_started", "info", { dir }, `export to ${dir}: started`);
}

/** `export_finished` (info) with what was written, or `export_failed` (error) with the error as data. */
export function exportEndedLine(exported: RunExport): LogLine {
  if (exported.status === "failed") {
    const { dir, duration_ms, error } = exported;
    return line(
      "export_failed",
      "error",
      { dir, duration_ms, ...error },
      `export to ${dir}: failed after ${(duration_ms / 1000).toFixed(1)} s; the run's rows stay committed, and the next successful run exports them\n${formatError(error)}`,
    );
  }
  const { status: _, ...fields } = exported;
  // Published but not recorded in `_rl_exports` (the database stayed held): readers have the files, operators should know.
  const unrecorded = exported.record_error === null ? "" : `; not recorded in _rl_exports: ${exported.record_error}`;
  return line(
    "export_finished",
    exported.record_error === null ? "info" : "warn",
    fields,
    `${exportDoneText(exported)} (export ${exported.export_id})${unrecorded}`,
  );
}

/** `export to DIR: 2 tables written, 1 unchanged; 2 files, 300 rows in 0.4 s`: a finished export, in its log line and the summary. */
export function exportDoneText(done: ExportDone): string {
  const removed = done.tables_removed > 0 ? `, ${done.tables_removed} removed` : "";
  return `export to ${done.dir}: ${plural(done.tables_written, "table")} written, ${done.tables_unchanged} unchanged${removed}; ${plural(done.files_written, "file")}, ${plural(done.rows_written, "row")} in ${(done.duration_ms / 1000).toFixed(1)} s`;
}

/**
 * The last line of every run, written at every --log-level: info when it succeeded, warn when
 * interrupted, error when it failed (or its export did: the command exits with the export error's code).
 */
export function runFinishedLine(runId: string | null, end: RunEnd, { dryRun }: LineContext): LogLine {
  const level = end.status === "succeeded" && end.exit_code === 0 ? "info" : end.status === "interrupted" ? "warn" : "error";
  const { status, exit_code, rows, requests, retries, duration_ms } = end;
  const run = dryRun ? "dry run" : `run ${runId}`;
  return line(
    "run_finished",
    level,
    { status, exit_code, rows, requests, retries, duration_ms },
    runId === null
      ? `run ${end.status} before it started (exit ${end.exit_code})`
      : `${run}: ${end.status}${end.export === "failed" ? ", export failed" : ""} (exit ${end.exit_code}), ${plural(end.rows, "row")}, ${plural(end.requests, "request")}, ${plural(end.retries, "retry")} in ${(end.duration_ms / 1000).toFixed(1)} s`,
  );
}

/** `new table issues`, `new column issues.score BIGINT`, `variant column issues.score__v_text VARCHAR`. */
export function schemaChangeText(change: SchemaChange): string {
  const type = change.data_type === null ? "" : ` ${change.data_type}`;
  switch (change.change) {
    case "new_table":
      return `new table ${change.table}`;
    case "new_column":
      return `new column ${change.table}.${change.column}${type}`;
    case "variant_column":
      return `variant column ${change.table}.${change.column}${type}`;
  }
}

// internal

function line(event: string, level: LogLevel, fields: object, text: string): LogLine {
  return { event, level, fields, text };
}

/** An event's own keys, already spelled as JSON spells them, without its `type`. */
function fieldsOf<E extends { readonly type: string }>(event: E): Omit<E, "type"> {
  const { type: _, ...fields } = event;
  return fields;
}

function total(rows: Readonly<Record<string, number>>): number {
  return Object.values(rows).reduce((sum, count) => sum + count, 0);
}
