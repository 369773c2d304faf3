// The status page's HTML: server-rendered, inline CSS and SVG, no external assets.
import type { DatabaseSnapshot, LoadRow, PipelineSnapshot, RunRow } from "./snapshot.ts";

export function escapeHtml(text: unknown): string {
  return String(text ?? "").replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const style = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d232a;background:#f6f7f9}
h1{font-size:20px;margin:0 0 16px}h2{font-size:16px;margin:0 0 8px}a{color:#0b5cad}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px;margin:0 0 16px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.succeeded,.committed{background:#1f883d}.failed,.unfinished{background:#cf222e}.interrupted{background:#9a6700}.running{background:#0969da}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}th{color:#57606a;font-weight:600}
.error{color:#cf222e;white-space:pre-wrap}.muted{color:#57606a}.num{text-align:right;font-variant-numeric:tabular-nums}`;

function page(title: string, body: string, refreshSeconds: number | null): string {
  const refresh = refreshSeconds === null ? "" : `<meta http-equiv="refresh" content="${refreshSeconds}">`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>${refresh}<style>${style}</style></head><body>${body}</body></html>`;
}

function link(path: string, token: string | null): string {
  return token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
}

function ago(iso: string | null, now: number): string {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129_600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** Bars of rows (blue) and duration (grey) for the recent runs, oldest first. */
function chart(runs: readonly RunRow[]): string {
  const recent = [...runs].reverse().slice(-20);
  if (recent.length === 0) return "";
  const maxRows = Math.max(1, ...recent.map((run) => run.rows));
  const maxDuration = Math.max(0.001, ...recent.map((run) => run.duration_s ?? 0));
  const bars = recent
    .map((run, i) => {
      const x = i * 14;
      const rows = Math.round((run.rows / maxRows) * 40);
      const duration = Math.round(((run.duration_s ?? 0) / maxDuration) * 40);
      return `<rect x="${x}" y="${44 - rows}" width="6" height="${rows}" fill="${run.status === "failed" ? "#cf222e" : "#0969da"}"><title>${escapeHtml(`${run.started_at}: ${run.rows} rows`)}</title></rect><rect x="${x + 6}" y="${44 - duration}" width="5" height="${duration}" fill="#8c959f"><title>${escapeHtml(`${run.duration_s ?? 0} s`)}</title></rect>`;
    })
    .join("");
  return `<svg role="img" aria-label="rows and duration of recent runs" width="${recent.length * 14}" height="46" viewBox="0 0 ${recent.length * 14} 46">${bars}</svg>`;
}

function pipelineCard(db: DatabaseSnapshot, p: PipelineSnapshot, now: number, token: string | null): string {
  const last = p.runs[0];
  const liveHere = db.live.find((live) => live.pipeline === p.pipeline) ?? null;
  // A row still "running" with no live status file behind it is a run that was killed.
  const status = liveHere ? "running" : last?.status === "running" ? "unfinished" : (last?.status ?? "never run");
  const runsRows = p.runs
    .slice(0, 10)
    .map(
      (run) =>
        `<tr><td><a href="${link(`/runs/${encodeURIComponent(run.run_id)}?db=${encodeURIComponent(db.database)}`, token)}">${escapeHtml(run.started_at)}</a></td><td><span class="badge ${escapeHtml(run.status)}">${escapeHtml(run.status)}</span></td><td class="num">${run.rows}</td><td class="num">${run.duration_s === null ? "" : run.duration_s.toFixed(1) + " s"}</td><td class="error">${escapeHtml(run.error ?? "")}</td></tr>`,
    )
    .join("");
  const live = liveHere
    ? `<p><span class="badge running">running</span> since ${escapeHtml(liveHere.started_at)} — unit ${escapeHtml(liveHere.unit ?? "")}</p><table><tr><th>resource</th><th>pages</th><th>records</th><th>retries</th></tr>${Object.entries(
        liveHere.resources,
      )
        .map(
          ([name, r]) =>
            `<tr><td>${escapeHtml(name)}</td><td class="num live-pages">${r.pages}</td><td class="num live-records">${r.records}</td><td class="num">${r.retries}</td></tr>`,
        )
        .join("")}</table>`
    : "";
  return `<section class="card pipeline" data-pipeline="${escapeHtml(p.pipeline)}">
<h2>${escapeHtml(p.pipeline)} <span class="badge ${escapeHtml(status)}">${escapeHtml(status)}</span></h2>
<p class="muted">${escapeHtml(db.database)} · dataset ${escapeHtml(p.dataset)} · last successful unit ${escapeHtml(ago(p.last_success_at, now))}</p>
${last?.error ? `<p class="error last-error">${escapeHtml(last.error)}</p>` : ""}${live}
${chart(p.runs)}
<table><tr><th>table</th><th class="num">rows</th></tr>${p.tables.map((t) => `<tr><td>${escapeHtml(t.table)}</td><td class="num">${t.rows}</td></tr>`).join("")}</table>
${
  p.cursors.length > 0
    ? `<p class="muted">newest cursors: ${p.cursors
        .slice(0, 5)
        .map((c) => `${escapeHtml(c.resource)}${c.parent_key ? escapeHtml(` ${c.parent_key}`) : ""} = ${escapeHtml(c.last_value)}`)
        .join(
          " · ",
        )} (<a href="${link(`/cursors?db=${encodeURIComponent(db.database)}&dataset=${encodeURIComponent(p.dataset)}`, token)}">all</a>)</p>`
    : ""
}
<table class="runs"><tr><th>run</th><th>status</th><th class="num">rows</th><th class="num">duration</th><th>error</th></tr>${runsRows}</table>
</section>`;
}

export function overviewPage(databases: readonly DatabaseSnapshot[], now: number, token: string | null): string {
  const cards = databases
    .map((db) => {
      const note = db.note ? `<p class="muted note">${escapeHtml(db.database)}: ${escapeHtml(db.note)}</p>` : "";
      // A first run, not committed yet: its pipeline is in no table so far.
      const liveOnly = db.live
        .filter((live) => !db.pipelines.some((p) => p.pipeline === live.pipeline))
        .map((live) =>
          pipelineCard(
            db,
            { pipeline: live.pipeline, dataset: "", runs: [], loads_by_run: {}, last_success_at: null, tables: [], cursors: [] },
            now,
            token,
          ),
        )
        .join("");
      return note + db.pipelines.map((p) => pipelineCard(db, p, now, token)).join("") + liveOnly;
    })
    .join("");
  const running = databases.some((db) => db.live.length > 0);
  return page("restload", `<h1>restload</h1>${cards || "<p>No database given.</p>"}`, running ? 2 : 10);
}

export function runPage(pipeline: PipelineSnapshot, run: RunRow, loads: readonly LoadRow[], token: string | null): string {
  const units = loads
    .map(
      (
        load,
      ) => `<section class="card unit"><h2>unit ${escapeHtml(load.unit)}${load.checkpoint > 1 || !load.final ? ` · checkpoint ${load.checkpoint}` : ""} <span class="badge ${escapeHtml(load.status)}">${escapeHtml(load.status)}</span></h2>
<p class="muted">load ${escapeHtml(load.load_id)} · ${escapeHtml(load.started_at)} · ${load.duration_s === null ? "" : load.duration_s.toFixed(1) + " s"} · ${load.requests} requests · ${load.retries} retries</p>
${load.error ? `<p class="error">${escapeHtml(load.error)}</p>` : ""}
<table><tr><th>resource</th><th class="num">pages</th><th class="num">records</th><th class="num">retries</th></tr>${Object.entries(
        load.resources,
      )
        .map(
          ([name, r]) =>
            `<tr><td>${escapeHtml(name)}</td><td class="num">${r.pages}</td><td class="num">${r.records}</td><td class="num">${r.retries}</td></tr>`,
        )
        .join("")}</table>
<table><tr><th>table</th><th class="num">rows written</th></tr>${Object.entries(load.rows_by_table)
        .map(([table, rows]) => `<tr><td>${escapeHtml(table)}</td><td class="num">${rows}</td></tr>`)
        .join("")}</table></section>`,
    )
    .join("");
  const body = `<p><a href="${link("/", token)}">← overview</a></p><h1>run of ${escapeHtml(pipeline.pipeline)} <span class="badge ${escapeHtml(run.status)}">${escapeHtml(run.status)}</span></h1>
<p class="muted">${escapeHtml(run.run_id)} · started ${escapeHtml(run.started_at)} · ${run.duration_s === null ? "" : run.duration_s.toFixed(1) + " s"} · ${run.rows} rows · ${run.requests} requests · ${run.retries} retries · exit ${run.exit_code ?? ""}</p>
${run.error ? `<p class="error">${escapeHtml(run.error)}</p>` : ""}${units || "<p>No unit was recorded.</p>"}`;
  return page(`run ${run.run_id}`, body, null);
}

export function cursorsPage(db: DatabaseSnapshot, pipeline: PipelineSnapshot, token: string | null): string {
  const rows = pipeline.cursors
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.resource)}</td><td>${escapeHtml(c.parent_key || "(root)")}</td><td>${escapeHtml(c.last_value)}</td><td>${escapeHtml(c.updated_at ?? "")}</td></tr>`,
    )
    .join("");
  return page(
    "cursors",
    `<p><a href="${link("/", token)}">← overview</a></p><h1>cursors of ${escapeHtml(pipeline.pipeline)}</h1><p class="muted">${escapeHtml(db.database)}</p><table><tr><th>resource</th><th>parent</th><th>last value</th><th>updated</th></tr>${rows}</table>`,
    null,
  );
}
