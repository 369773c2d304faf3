// The overview's "Last export" block: when the dataset's newest Parquet export ended, how, what it
// wrote and where, its error when it failed, and the run it followed.
import { bytesText } from "./_numbers.ts";
import { duration, escapeHtml, when } from "./html-layout.ts";
import { badge, failure } from "./html-parts.ts";
import type { ExportRow } from "./types.ts";

/**
 * The block for `exported`, or "" when the dataset was never exported. `runLink` gives the link to
 * a run's detail, or null when the run is not among those the page shows (then its id is written).
 */
export function lastExportBlock(exported: ExportRow | null, now: number, runLink: (runId: string) => string | null): string {
  if (exported === null) return "";
  const by =
    exported.run_id === null
      ? "by <code>restload export</code>"
      : `after run ${runLink(exported.run_id) ?? `<code>${escapeHtml(exported.run_id)}</code>`}`;
  const rows: [field: string, label: string, value: string][] = [
    [
      "finished_at",
      "finished",
      `${when(exported.finished_at, now)}${exported.duration_s === null ? "" : ` in ${duration(exported.duration_s)}`}`,
    ],
    ["tables", "tables", `${exported.tables_written} written, ${exported.tables_unchanged} unchanged`],
    ["rows_written", "rows written", String(exported.rows_written)],
    ["files_written", "files written", String(exported.files_written)],
    ["bytes_written", "size written", escapeHtml(bytesText(exported.bytes_written))],
    ["dir", "folder", `<code>${escapeHtml(exported.dir)}</code>`],
    ["trigger", "started", by],
  ];
  const table = rows.map(([field, label, value]) => `<tr data-field="${field}"><th>${label}</th><td>${value}</td></tr>`).join("");
  // A failed export's row holds its one-line text only (no code or hint as data).
  const error = exported.status === "ok" ? "" : failure(null, exported.error ?? "failed without a recorded error");
  return `<div class="last-export" data-export-status="${escapeHtml(exported.status)}"><h3>Last export ${badge(exported.status)}</h3><table class="export">${table}</table>${error}</div>`;
}
