// /metrics in the Prometheus text format (0.0.4): counters over every recorded run, gauges of the
// last finished run, tables, each dataset's last export and running runs. Served from the last good
// read while a run holds the file, so no series disappears between scrapes.
import { threeDecimals } from "./_numbers.ts";
import { lastOutcome } from "./outcome.ts";
import type { DatabaseSnapshot, ExportRow, PipelineSnapshot } from "./types.ts";

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];

const finishedStatuses = ["succeeded", "failed", "interrupted"] as const;

/** The exposition text for `databases`, one series per database, dataset and pipeline. */
export function metrics(databases: readonly DatabaseSnapshot[], now: number): string {
  const lines: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string, samples: readonly Sample[]) => {
    lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}{${labelText(labels)}} ${number(value)}`);
  };
  const pipelines = databases.flatMap((db) =>
    db.pipelines.map((p) => ({ db, p, id: { database: db.database, dataset: p.dataset, pipeline: p.pipeline } as Labels })),
  );
  const per = (value: (p: PipelineSnapshot, db: DatabaseSnapshot) => number): Sample[] =>
    pipelines.map(({ db, p, id }) => [id, value(p, db)]);
  // An export covers a dataset, not a pipeline: one series per database and dataset that has one.
  const seen = new Set<string>();
  const lastExports: [Labels, ExportRow][] = [];
  for (const { db, p } of pipelines) {
    const key = JSON.stringify([db.database, p.dataset]);
    if (p.last_export === null || seen.has(key)) continue;
    seen.add(key);
    lastExports.push([{ database: db.database, dataset: p.dataset }, p.last_export]);
  }
  const perExport = (value: (exported: ExportRow) => number): Sample[] => lastExports.map(([labels, e]) => [labels, value(e)]);
  const outcomes = new Map(pipelines.map(({ db, p }) => [p, lastOutcome(p, db, now)]));

  family(
    "restload_runs_total",
    "counter",
    "Runs that finished, by status, over every run recorded in the database.",
    pipelines.flatMap(({ p, id }) => finishedStatuses.map((status): Sample => [{ ...id, status }, p.totals.runs[status] ?? 0])),
  );
  family(
    "restload_rows_total",
    "counter",
    "Rows committed, over every load (checkpoint) recorded.",
    per((p) => p.totals.rows),
  );
  family(
    "restload_requests_total",
    "counter",
    "HTTP requests made, over every load recorded.",
    per((p) => p.totals.requests),
  );
  family(
    "restload_retries_total",
    "counter",
    "HTTP requests retried, over every load recorded.",
    per((p) => p.totals.retries),
  );
  family(
    "restload_last_run_rows",
    "gauge",
    "Rows written by the last finished run.",
    per((p) => outcomes.get(p)?.run.rows ?? 0),
  );
  family(
    "restload_last_run_duration_seconds",
    "gauge",
    "Duration of the last finished run.",
    per((p) => outcomes.get(p)?.run.duration_s ?? 0),
  );
  family(
    "restload_last_run_failed",
    "gauge",
    "1 when the last finished run failed, was interrupted or ended without finishing; else 0.",
    per((p) => {
      const outcome = outcomes.get(p);
      return outcome && outcome.status !== "succeeded" ? 1 : 0;
    }),
  );
  family(
    "restload_last_success_timestamp_seconds",
    "gauge",
    "When a unit of the pipeline last committed (Unix time); 0 when none has.",
    per((p) => (p.last_success_at ? Date.parse(p.last_success_at) / 1000 : 0)),
  );
  family(
    "restload_table_rows",
    "gauge",
    "Rows per table.",
    pipelines.flatMap(({ p, id }) => p.tables.map((t): Sample => [{ ...id, table: t.table }, t.rows])),
  );
  family(
    "restload_table_loaded_timestamp_seconds",
    "gauge",
    "When the newest committed load that wrote rows to the table finished (Unix time).",
    pipelines.flatMap(({ p, id }) =>
      p.tables.flatMap((t): Sample[] => (t.loaded_at ? [[{ ...id, table: t.table }, Date.parse(t.loaded_at) / 1000]] : [])),
    ),
  );
  family(
    "restload_last_export_timestamp_seconds",
    "gauge",
    "When the dataset's last Parquet export ended, ok or failed (Unix time); absent until a first export.",
    perExport((e) => Date.parse(e.finished_at) / 1000),
  );
  family(
    "restload_last_export_success",
    "gauge",
    "1 when the dataset's last Parquet export succeeded, 0 when it failed.",
    perExport((e) => (e.status === "ok" ? 1 : 0)),
  );
  family(
    "restload_last_export_duration_seconds",
    "gauge",
    "Duration of the dataset's last Parquet export.",
    perExport((e) => e.duration_s ?? 0),
  );
  family(
    "restload_last_export_rows",
    "gauge",
    "Rows the dataset's last Parquet export wrote (unchanged tables write none).",
    perExport((e) => e.rows_written),
  );
  family(
    "restload_last_export_bytes",
    "gauge",
    "Bytes of Parquet the dataset's last export wrote.",
    perExport((e) => e.bytes_written),
  );
  family(
    "restload_running",
    "gauge",
    "Runs going on in the database now (one per dataset at most).",
    databases.map((db): Sample => [{ database: db.database }, db.live.length]),
  );
  family(
    "restload_read_timestamp_seconds",
    "gauge",
    "When the committed data these series come from was read (Unix time); absent until a first read.",
    databases.flatMap((db): Sample[] => (db.read_at ? [[{ database: db.database }, Date.parse(db.read_at) / 1000]] : [])),
  );
  return `${lines.join("\n")}\n`;
}

// internal

function labelText(labels: Labels): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

function number(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  return String(threeDecimals(value));
}
