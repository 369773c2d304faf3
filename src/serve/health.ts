// /healthz: healthy only on committed data actually read and current, judged by each pipeline's
// newest finished run and, with --max-age, the age of its last successful unit. A failed last
// export is said in the body as a note, and does not change the verdict.
import { lastOutcome, liveRun } from "./outcome.ts";
import type { DatabaseSnapshot, ExportRow } from "./types.ts";

/**
 * While a run holds the file the last good read is served (a run holds it for its commits), but
 * no longer than this: a file no read got into for this long makes /healthz fail.
 */
export const maxUnreadMs = 10 * 60_000;

/**
 * Reasons the pipelines are unhealthy, one line each; empty when healthy. A database not read yet,
 * gone or unreadable since its last read, or held by another process for longer than
 * `maxUnreadMs`; with no run recorded; or a pipeline whose newest finished run failed, was
 * interrupted or ended without finishing, or whose last successful unit is older than `maxAgeSeconds`.
 *
 * @example
 * health(snapshots, 7200, Date.now()) // ["github: the last run failed: E_HTTP: Cannot fetch page 3 …"]
 */
export function health(databases: readonly DatabaseSnapshot[], maxAgeSeconds: number | null, now: number): string[] {
  const problems: string[] = [];
  for (const db of databases) {
    const unread = readProblem(db, now);
    if (unread !== null) {
      problems.push(`${db.database}: ${unread}`);
      continue;
    }
    if (db.pipelines.length === 0) {
      problems.push(`${db.database}: no run recorded${db.live.length > 0 ? " (the first run is going on)" : ""}`);
      continue;
    }
    for (const p of db.pipelines) {
      const outcome = lastOutcome(p, db, now);
      if (outcome === null) {
        problems.push(`${p.pipeline}: no finished run yet${liveRun(p, db) ? " (a run is going on)" : ""}`);
      } else if (outcome.phase === "dead") {
        const { run } = outcome;
        problems.push(
          `${p.pipeline}: the last run (started ${run.started_at}${run.pid === null ? "" : `, process ${run.pid}`}) ended without finishing (killed?)`,
        );
      } else if (outcome.run.status !== "succeeded") {
        const { run } = outcome;
        const hint = run.error_data?.hint ? ` (${run.error_data.hint})` : "";
        problems.push(`${p.pipeline}: the last run ${run.status}${run.error ? `: ${run.error}` : ""}${hint}`);
      }
      if (maxAgeSeconds !== null) {
        const age = p.last_success_at ? (now - Date.parse(p.last_success_at)) / 1000 : Infinity;
        if (age > maxAgeSeconds)
          problems.push(
            `${p.pipeline}: the last successful unit is ${p.last_success_at ? `${Math.round(age)} s old` : "missing"} (max age ${maxAgeSeconds} s)`,
          );
      }
    }
  }
  return problems;
}

/**
 * Lines on what /healthz reports without judging by it: a dataset whose last Parquet export failed
 * (its tables are loaded; the lake is stale until the next export). One per database and dataset,
 * named by its pipelines; none for a database whose committed data cannot be judged by.
 *
 * @example
 * healthNotes(snapshots, Date.now()) // ["note: github: the last export failed at 2026-01-01T12:00:00Z: Cannot write …"]
 */
export function healthNotes(databases: readonly DatabaseSnapshot[], now: number): string[] {
  const notes: string[] = [];
  for (const db of databases) {
    if (readProblem(db, now) !== null) continue;
    const datasets = new Map<string, { names: string[]; failed: ExportRow | null }>();
    for (const p of db.pipelines) {
      const dataset = datasets.get(p.dataset) ?? { names: [], failed: p.last_export?.status === "ok" ? null : p.last_export };
      datasets.set(p.dataset, dataset);
      dataset.names.push(p.pipeline);
    }
    for (const { names, failed } of datasets.values())
      if (failed)
        // One line per note: an error's first line only (DuckDB's messages run over several).
        notes.push(
          `note: ${names.join(", ")}: the last export failed at ${failed.finished_at}: ${(failed.error ?? "no error recorded").split("\n")[0]}`,
        );
  }
  return notes;
}

// internal

/**
 * Why the data kept for `db` cannot be judged by: none read yet, the file gone or unreadable now
 * (what was read before no longer says anything), or held past `maxUnreadMs`. Null when the last
 * read is current, or the file is held only for now.
 */
function readProblem(db: DatabaseSnapshot, now: number): string | null {
  if (db.read_at === null) return `no committed data read yet: ${db.note ?? "not read so far"}`;
  if (db.read_failure === "missing" || db.read_failure === "failed") return `cannot read committed data: ${db.note}`;
  const unreadMs = now - Date.parse(db.read_at);
  if (db.read_failure === "locked" && unreadMs > maxUnreadMs)
    return `cannot read committed data for ${Math.floor(unreadMs / 60_000)} min: ${db.note}`;
  return null;
}
