// Pieces the overview and the run detail share: a status badge, a failure with its hint and
// context, a live run's progress, a load's schema changes.
import type { SchemaChange } from "../state/runs.ts";
import type { RunStatusDocument } from "../state/status-file.ts";
import { escapeHtml } from "./html-layout.ts";
import type { ErrorInfo } from "./types.ts";

export function badge(status: string): string {
  return `<span class="badge ${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

/**
 * A failure: its code and message, the hint saying what to do, and its context (resource, URL…).
 * `line` (the stored one-line text) stands in when a database has no `error_data`.
 */
export function failure(error: ErrorInfo | null, line: string | null, title = ""): string {
  if (error === null && line === null) return "";
  const heading = title ? `<p><strong>${escapeHtml(title)}</strong></p>` : "";
  if (error === null) return `<div class="failure">${heading}<p class="error">${escapeHtml(line)}</p></div>`;
  const context = Object.entries(error.context);
  return `<div class="failure">${heading}<p class="error"><code>${escapeHtml(error.code)}</code> ${escapeHtml(error.message)}</p>${
    error.hint ? `<p class="hint">Hint: ${escapeHtml(error.hint)}</p>` : ""
  }${
    context.length > 0
      ? `<table class="context">${context.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`).join("")}</table>`
      : ""
  }</div>`;
}

/** A run going on now, from its status file: the unit in progress and pages, records, retries per resource. */
export function liveProgress(live: RunStatusDocument): string {
  const rows = Object.entries(live.resources)
    .map(
      ([name, r]) =>
        `<tr><td>${escapeHtml(name)}</td><td class="num live-pages">${r.pages}</td><td class="num live-records">${r.records}</td><td class="num">${r.retries}</td></tr>`,
    )
    .join("");
  return `<div class="live"><p>${badge("running")} since ${escapeHtml(live.started_at)} — unit ${escapeHtml(live.unit ?? "")}</p><table><tr><th>resource</th><th>pages</th><th>records</th><th>retries</th></tr>${rows}</table></div>`;
}

// The page's table gives table, column and type columns of their own, so only the kind is named
// here (the log line's `schemaChangeText` writes all of it in one phrase).
const changeNames: Readonly<Record<SchemaChange["change"], string>> = {
  new_table: "new table",
  new_column: "new column",
  variant_column: "variant column",
};

/** A load's schema changes (new tables, columns, variant columns), or "" when it made none. */
export function schemaChangeList(changes: readonly SchemaChange[]): string {
  if (changes.length === 0) return "";
  const rows = changes
    .map(
      (change) =>
        `<tr><td>${escapeHtml(changeNames[change.change])}</td><td>${escapeHtml(change.table)}</td><td>${escapeHtml(change.column ?? "")}</td><td>${escapeHtml(change.data_type ?? "")}</td></tr>`,
    )
    .join("");
  return `<h3>schema changes</h3><table class="schema-changes"><tr><th>change</th><th>table</th><th>column</th><th>type</th></tr>${rows}</table>`;
}
