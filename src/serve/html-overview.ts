// The overview: per pipeline its status, the failures of its last finished run with their hints,
// its live run, rows and duration of recent runs, tables with when each was last loaded, the
// dataset's last export, cursors, runs.
import { lastExportBlock } from "./html-export.ts";
import { ago, duration, escapeHtml, link, when } from "./html-layout.ts";
import { badge, failure, liveProgress } from "./html-parts.ts";
import { type Outcome, lastOutcome, liveRun, shownStatus } from "./outcome.ts";
import type { DatabaseSnapshot, PipelineSnapshot, RunRow } from "./types.ts";

/** The overview's content (the page shell around it is `page`). */
export function overviewContent(databases: readonly DatabaseSnapshot[], now: number, token: string | null): string {
  const sections = databases.map((db) => {
    const read = db.read_at ? `committed data read at ${when(db.read_at, now)}` : `<span class="note">no committed data read yet</span>`;
    const head = `<p class="muted read-at" data-database="${escapeHtml(db.database)}">${escapeHtml(db.database)}: ${read}${
      db.note ? ` — <span class="note">${escapeHtml(db.note)}</span>` : ""
    }</p>`;
    // A first run, not committed yet: its pipeline is in no table so far.
    const liveOnly = db.live
      .filter((live) => !db.pipelines.some((p) => p.pipeline === live.pipeline && p.dataset === live.dataset))
      .map((live) =>
        pipelineCard(
          db,
          {
            pipeline: live.pipeline,
            dataset: live.dataset,
            runs: [],
            loads_by_run: {},
            last_success_at: null,
            tables: [],
            cursors: [],
            totals: { runs: {}, rows: 0, requests: 0, retries: 0 },
            last_export: null,
          },
          now,
          token,
        ),
      );
    return head + db.pipelines.map((p) => pipelineCard(db, p, now, token)).join("") + liveOnly.join("");
  });
  return `<h1>restload</h1>${sections.join("") || "<p>No database given.</p>"}`;
}

// internal

function pipelineCard(db: DatabaseSnapshot, p: PipelineSnapshot, now: number, token: string | null): string {
  const live = liveRun(p, db);
  const outcome = lastOutcome(p, db, now);
  const status = live ? "running" : (outcome?.status ?? (p.runs.length > 0 ? "running" : "never run"));
  const runLink = (run: RunRow, text: string) =>
    `<a href="${escapeHtml(link(`/runs/${encodeURIComponent(run.run_id)}?db=${encodeURIComponent(db.database)}`, token))}">${escapeHtml(text)}</a>`;
  // The run an export followed links to its detail when the page has it (the recent runs of the file).
  const exportRunLink = (runId: string) => {
    const run = db.pipelines.flatMap((other) => other.runs).find((candidate) => candidate.run_id === runId);
    return run ? runLink(run, run.started_at) : null;
  };
  // One status per run, as the badges, the run detail and the health check judge it.
  const shown = p.runs.map((run) => ({ run, status: shownStatus(run, db, now) }));
  const runsRows = shown
    .slice(0, 10)
    .map(
      ({ run, status }) =>
        `<tr><td>${runLink(run, run.started_at)}</td><td>${badge(status)}</td><td class="num">${run.rows}</td><td class="num">${duration(run.duration_s)}</td><td class="error">${escapeHtml(run.error ?? "")}</td></tr>`,
    )
    .join("");
  const tables = p.tables
    .map(
      (t) =>
        `<tr data-table="${escapeHtml(t.table)}"><td>${escapeHtml(t.table)}</td><td class="num">${t.rows}</td><td class="loaded-at">${when(t.loaded_at, now)}</td></tr>`,
    )
    .join("");
  const cursors =
    p.cursors.length > 0
      ? `<p class="muted">newest cursors: ${p.cursors
          .slice(0, 5)
          .map((c) => `${escapeHtml(c.resource)}${c.parent_key ? escapeHtml(` ${c.parent_key}`) : ""} = ${escapeHtml(c.last_value)}`)
          .join(" · ")} (<a href="${escapeHtml(
          link(`/cursors?db=${encodeURIComponent(db.database)}&dataset=${encodeURIComponent(p.dataset)}`, token),
        )}">all</a>)</p>`
      : "";
  return `<section class="card pipeline" data-pipeline="${escapeHtml(p.pipeline)}" data-database="${escapeHtml(db.database)}">
<h2>${escapeHtml(p.pipeline)} ${badge(status)}</h2>
<p class="muted">${escapeHtml(db.database)} · dataset ${escapeHtml(p.dataset)} · last successful unit ${escapeHtml(ago(p.last_success_at, now))}${
    outcome ? ` · last finished run ${runLink(outcome.run, outcome.run.started_at)}` : ""
  }</p>
${outcome ? failures(p, outcome) : ""}${live ? liveProgress(live) : ""}
${chart(shown)}
${tables ? `<table class="tables"><tr><th>table</th><th class="num">rows</th><th>loaded at</th></tr>${tables}</table>` : ""}
${lastExportBlock(p.last_export, now, exportRunLink)}
${cursors}
<table class="runs"><tr><th>run</th><th>status</th><th class="num">rows</th><th class="num">duration</th><th>error</th></tr>${runsRows}</table>
</section>`;
}

/** The failures of the last finished run: each failing unit with its error and hint, else the run's own. */
function failures(p: PipelineSnapshot, outcome: Outcome): string {
  const { run } = outcome;
  if (outcome.phase === "dead")
    return `<div class="last-error"><div class="failure"><p class="error">The last run (started ${escapeHtml(run.started_at)}${
      run.pid === null ? "" : `, process ${run.pid}`
    }) ended without finishing: it was killed or crashed. The next run marks it interrupted and continues from its last checkpoint.</p></div></div>`;
  const units = (p.loads_by_run[run.run_id] ?? []).filter((load) => load.status === "failed");
  const blocks = units.map((load) => failure(load.error_data, load.error, `unit ${load.unit}`));
  if (blocks.length === 0 && (run.error !== null || run.error_data !== null)) blocks.push(failure(run.error_data, run.error));
  return blocks.length > 0 ? `<div class="last-error">${blocks.join("")}</div>` : "";
}

/** Bars of rows (blue, red for a failed or unfinished run) and duration (grey) for the recent runs, oldest first. */
function chart(runs: readonly { run: RunRow; status: string }[]): string {
  const recent = [...runs].reverse().slice(-20);
  if (recent.length === 0) return "";
  const maxRows = Math.max(1, ...recent.map(({ run }) => run.rows));
  const maxDuration = Math.max(0.001, ...recent.map(({ run }) => run.duration_s ?? 0));
  const bars = recent
    .map(({ run, status }, i) => {
      const x = i * 14;
      const rows = Math.round((run.rows / maxRows) * 40);
      const height = Math.round(((run.duration_s ?? 0) / maxDuration) * 40);
      return `<rect x="${x}" y="${44 - rows}" width="6" height="${rows}" fill="${status === "failed" || status === "unfinished" ? "#cf222e" : "#0969da"}"><title>${escapeHtml(`${run.started_at}: ${run.rows} rows`)}</title></rect><rect x="${x + 6}" y="${44 - height}" width="5" height="${height}" fill="#8c959f"><title>${escapeHtml(duration(run.duration_s))}</title></rect>`;
    })
    .join("");
  return `<svg role="img" aria-label="rows and duration of recent runs" width="${recent.length * 14}" height="46" viewBox="0 0 ${recent.length * 14} 46">${bars}</svg>`;
}
