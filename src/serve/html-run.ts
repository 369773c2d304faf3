// A run's detail (per unit and checkpoint: status, timings, failure with hint, resources, rows per
// table, schema changes) and a pipeline's cursors.
import type { RunStatusDocument } from "../state/status-file.ts";
import { duration, escapeHtml, link, when } from "./html-layout.ts";
import { badge, failure, liveProgress, schemaChangeList } from "./html-parts.ts";
import type { DatabaseSnapshot, LoadRow, PipelineSnapshot, RunRow } from "./types.ts";

/** The run detail's content; `shown.live` when the run is going on now, `shown.status` its status as shown. */
export function runContent(
  pipeline: PipelineSnapshot,
  run: RunRow,
  loads: readonly LoadRow[],
  shown: { readonly live: RunStatusDocument | null; readonly status: string },
  now: number,
  token: string | null,
): string {
  const { live } = shown;
  const units = loads.map((load) => loadCard(load, now)).join("");
  return `<p><a href="${escapeHtml(link("/", token))}">← overview</a></p><h1>run of ${escapeHtml(pipeline.pipeline)} ${badge(shown.status)}</h1>
<p class="muted">${escapeHtml(run.run_id)} · started ${when(run.started_at, now)} · ${duration(run.duration_s)} · ${run.rows} rows · ${run.requests} requests · ${run.retries} retries · exit ${run.exit_code ?? ""}</p>
${failure(run.error_data, run.error)}${live ? liveProgress(live) : ""}${units || "<p>No unit was recorded.</p>"}`;
}

/** The cursors page's content. */
export function cursorsContent(db: DatabaseSnapshot, pipeline: PipelineSnapshot, token: string | null): string {
  const rows = pipeline.cursors
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.resource)}</td><td>${escapeHtml(c.parent_key || "(root)")}</td><td>${escapeHtml(c.last_value)}</td><td>${escapeHtml(c.updated_at ?? "")}</td></tr>`,
    )
    .join("");
  return `<p><a href="${escapeHtml(link("/", token))}">← overview</a></p><h1>cursors of ${escapeHtml(pipeline.pipeline)}</h1><p class="muted">${escapeHtml(db.database)}</p><table><tr><th>resource</th><th>parent</th><th>last value</th><th>updated</th></tr>${rows}</table>`;
}

// internal

function loadCard(load: LoadRow, now: number): string {
  const resources = Object.entries(load.resources)
    .map(
      ([name, r]) =>
        `<tr><td>${escapeHtml(name)}</td><td class="num">${r.pages}</td><td class="num">${r.records}</td><td class="num">${r.retries}</td></tr>`,
    )
    .join("");
  const tables = Object.entries(load.rows_by_table)
    .map(([table, rows]) => `<tr><td>${escapeHtml(table)}</td><td class="num">${escapeHtml(rows)}</td></tr>`)
    .join("");
  const checkpoint = load.checkpoint > 1 || !load.final ? ` · checkpoint ${load.checkpoint}` : "";
  return `<section class="card unit" data-unit="${escapeHtml(load.unit)}"><h2>unit ${escapeHtml(load.unit)}${checkpoint} ${badge(load.status)}</h2>
<p class="muted">load ${escapeHtml(load.load_id)} · ${when(load.started_at, now)} · ${duration(load.duration_s)} · ${load.requests} requests · ${load.retries} retries</p>
${failure(load.error_data, load.error)}
${resources ? `<table><tr><th>resource</th><th class="num">pages</th><th class="num">records</th><th class="num">retries</th></tr>${resources}</table>` : ""}
${tables ? `<table><tr><th>table</th><th class="num">rows written</th></tr>${tables}</table>` : ""}
${schemaChangeList(load.schema_changes)}</section>`;
}
