// The summary `restload run` prints on stdout at its end, as text (`--json` prints the RunReport itself).
import { plural } from "../util/plural.ts";
import { dryRunWindowsText, outlineWindows } from "../extract/windows.ts";
import type { Plan } from "../plan/index.ts";
import type { RunSummary, SchemaChange } from "../run/index.ts";
import type { RunExport } from "./_run-export.ts";
import { exportDoneText, schemaChangeText } from "./_run-log-lines.ts";

/**
 * What `restload run` reports on stdout: the run's summary with the command's exit code (the export
 * error's when the run succeeded but its export failed), and the export after the run (null when none ran).
 */
export type RunReport = RunSummary & { readonly export: RunExport | null };

/** The summary as text; with the plan of a dry run, also the windows each windowed resource requested. */
export function summaryText(summary: RunReport, dryRunPlan?: Plan): string {
  const dry = dryRunPlan !== undefined;
  const lines = dry
    ? [`dry run of pipeline ${summary.pipeline}: ${summary.status}; nothing was written to ${summary.database}`]
    : [
        `run ${summary.run_id} of pipeline ${summary.pipeline}: ${summary.status}`,
        `database ${summary.database} (dataset ${summary.dataset})`,
      ];
  for (const unit of summary.units) {
    const rows = Object.values(unit.rows_by_table).reduce((a, b) => a + b, 0);
    const status = dry ? (unit.status === "committed" ? "would load" : "failed") : unit.status;
    lines.push(
      `unit ${unit.unit}: ${status}${unit.status === "committed" || rows > 0 ? `, ${plural(rows, "row")}` : ""}${unit.checkpoints > 1 || (unit.status === "failed" && unit.checkpoints > 0) ? ` in ${plural(unit.checkpoints, "checkpoint")}${unit.status === "failed" ? " kept" : ""}` : ""} (${plural(unit.requests, "request")}, ${plural(unit.retries, "retry")}, ${(unit.duration_ms / 1000).toFixed(1)} s)`,
    );
    if (unit.error)
      lines.push(`  error[${unit.error.code}]: ${unit.error.message}${unit.error.hint ? `\n  hint: ${unit.error.hint}` : ""}`);
    if (unit.schema_changes.length > 0) lines.push(`  schema: ${schemaChangesText(unit.schema_changes)}`);
    const width = Math.max(0, ...Object.keys(unit.rows_by_table).map((table) => table.length));
    for (const [table, count] of Object.entries(unit.rows_by_table)) lines.push(`  ${table.padEnd(width)}  ${String(count).padStart(8)}`);
    for (const resource of dryRunPlan?.resources.filter((candidate) => candidate.unit === unit.unit) ?? []) {
      const windows = resource.incremental && outlineWindows(resource.incremental, Date.parse(summary.started_at));
      if (windows) lines.push(`  windows of ${resource.name}: ${dryRunWindowsText(windows, resource.parent !== null)}`);
    }
  }
  lines.push(
    `total ${plural(summary.rows, "row")}, ${plural(summary.requests, "request")}, ${plural(summary.retries, "retry")} in ${(summary.duration_ms / 1000).toFixed(1)} s`,
  );
  if (summary.export !== null) lines.push(...exportLines(summary.export));
  return lines.join("\n") + "\n";
}

/** The export's line, or its failure with the error and hint (the run's rows stay committed). */
function exportLines(exported: RunExport): string[] {
  if (exported.status === "ok") return [exportDoneText(exported)];
  const { error } = exported;
  return [
    `export to ${exported.dir}: failed (exit ${error.exit_code}); the run's rows stay committed, and the next successful run exports them`,
    `  error[${error.code}]: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`,
  ];
}

/**
 * A unit's schema changes on one line, new tables named together (a first run creates them all):
 * `new tables issues, issues__labels; new column issues.score BIGINT; variant column issues.state__v_bigint BIGINT`.
 */
function schemaChangesText(changes: readonly SchemaChange[]): string {
  const tables = changes.filter((change) => change.change === "new_table").map((change) => change.table);
  const others = changes.filter((change) => change.change !== "new_table").map(schemaChangeText);
  // "table" or "tables" as plural() agrees it, the count left out: the names follow.
  const noun = plural(tables.length, "table").slice(`${tables.length} `.length);
  const created = tables.length === 0 ? [] : [`new ${noun} ${tables.join(", ")}`];
  return [...created, ...others].join("; ");
}
