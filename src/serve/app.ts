// The status page as a Hono app: overview, run detail, cursors, JSON API, /healthz, /metrics.
import { Hono } from "hono";
import { cursorsPage, overviewPage, runPage } from "./html.ts";
import { type DatabaseSnapshot, Snapshots } from "./snapshot.ts";

export interface ServeOptions {
  readonly databases: readonly string[];
  /** A run older than this since the last successful unit makes /healthz fail; seconds. */
  readonly maxAgeSeconds: number | null;
  /** Required (bearer header or ?token=) when set: binding beyond loopback. */
  readonly token: string | null;
  readonly now?: () => number;
}

export function createApp(options: ServeOptions): Hono {
  const app = new Hono();
  const snapshots = new Snapshots();
  const now = options.now ?? Date.now;
  const all = () => Promise.all(options.databases.map((database) => snapshots.read(database)));

  if (options.token !== null) {
    const token = options.token;
    app.use("*", async (c, next) => {
      const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? c.req.query("token");
      if (given !== token) return c.text("unauthorized: pass the token as a bearer header or ?token=\n", 401);
      await next();
    });
  }
  const pageToken = (c: { req: { query(name: string): string | undefined } }) =>
    options.token !== null ? (c.req.query("token") ?? null) : null;

  app.get("/", async (c) => c.html(overviewPage(await all(), now(), pageToken(c))));

  app.get("/runs/:runId", async (c) => {
    const found = find(await all(), c.req.query("db"), (p) => p.runs.find((run) => run.run_id === c.req.param("runId")));
    if (!found) return c.text("no such run\n", 404);
    const { pipeline, value: run } = found;
    return c.html(runPage(pipeline, run, pipeline.loads_by_run[run.run_id] ?? [], pageToken(c)));
  });

  app.get("/cursors", async (c) => {
    const found = find(await all(), c.req.query("db"), (p) => (p.dataset === c.req.query("dataset") ? p : undefined));
    if (!found) return c.text("no such pipeline\n", 404);
    return c.html(cursorsPage(found.db, found.pipeline, pageToken(c)));
  });

  app.get("/api/pipelines", async (c) => c.json(await all()));
  app.get("/api/runs/:runId", async (c) => {
    const found = find(await all(), c.req.query("db"), (p) => p.runs.find((run) => run.run_id === c.req.param("runId")));
    if (!found) return c.json({ error: "no such run" }, 404);
    return c.json({ run: found.value, loads: found.pipeline.loads_by_run[found.value.run_id] ?? [] });
  });

  app.get("/healthz", async (c) => {
    const problems = health(await all(), options.maxAgeSeconds, now());
    return problems.length === 0 ? c.text("ok\n") : c.text(`${problems.join("\n")}\n`, 503);
  });

  app.get("/metrics", async (c) => c.text(metrics(await all()), 200, { "content-type": "text/plain; version=0.0.4" }));
  return app;
}

/** Reasons the pipelines are unhealthy: a failed last run, or no success within max age. */
export function health(databases: readonly DatabaseSnapshot[], maxAgeSeconds: number | null, now: number): string[] {
  const problems: string[] = [];
  for (const db of databases) {
    if (db.pipelines.length === 0 && db.live.length === 0)
      problems.push(`${db.database}: no run recorded${db.note ? ` (${db.note})` : ""}`);
    for (const p of db.pipelines) {
      const newest = p.runs[0];
      // A "running" run with no live process behind it was killed before it could finish.
      if (newest?.status === "running" && !db.live.some((live) => live.run_id === newest.run_id)) {
        problems.push(`${p.pipeline}: the last run (started ${newest.started_at}) ended without finishing (killed?)`);
      }
      const last = p.runs.find((run) => run.status !== "running");
      if (last && last.status !== "succeeded")
        problems.push(`${p.pipeline}: the last run ${last.status}${last.error ? `: ${last.error}` : ""}`);
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

/** Prometheus text format, one series per pipeline. */
export function metrics(databases: readonly DatabaseSnapshot[]): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
        .join(",");
      lines.push(`${name}{${text}} ${value}`);
    }
  };
  const pipelines = databases.flatMap((db) =>
    db.pipelines.map((p) => ({ db, p, id: { database: db.database, dataset: p.dataset, pipeline: p.pipeline } })),
  );
  metric(
    "restload_runs",
    "gauge",
    "Recent runs (up to 30) by final status.",
    pipelines.flatMap(({ p, id }) =>
      ["succeeded", "failed", "interrupted"].map((status): [Record<string, string>, number] => [
        { ...id, status },
        p.runs.filter((run) => run.status === status).length,
      ]),
    ),
  );
  metric(
    "restload_last_run_rows",
    "gauge",
    "Rows written by the last run.",
    pipelines.map(({ p, id }) => [id, p.runs[0]?.rows ?? 0]),
  );
  metric(
    "restload_last_run_duration_seconds",
    "gauge",
    "Duration of the last run.",
    pipelines.map(({ p, id }) => [id, p.runs[0]?.duration_s ?? 0]),
  );
  metric(
    "restload_last_run_failed",
    "gauge",
    "1 when the last run did not succeed.",
    pipelines.map(({ p, id }) => [id, p.runs[0] && p.runs[0].status !== "succeeded" ? 1 : 0]),
  );
  metric(
    "restload_last_success_timestamp_seconds",
    "gauge",
    "When a unit last committed (Unix time).",
    pipelines.map(({ p, id }) => [id, p.last_success_at ? Date.parse(p.last_success_at) / 1000 : 0]),
  );
  metric(
    "restload_table_rows",
    "gauge",
    "Rows per table.",
    pipelines.flatMap(({ p, id }) => p.tables.map((t): [Record<string, string>, number] => [{ ...id, table: t.table }, t.rows])),
  );
  metric(
    "restload_running",
    "gauge",
    "Runs going on in the database (one per dataset at most).",
    databases.map((db) => [{ database: db.database }, db.live.length]),
  );
  return lines.join("\n") + "\n";
}

function find<T>(
  databases: readonly DatabaseSnapshot[],
  db: string | undefined,
  pick: (p: DatabaseSnapshot["pipelines"][number]) => T | undefined,
) {
  for (const snapshot of databases) {
    if (db !== undefined && snapshot.database !== db) continue;
    for (const pipeline of snapshot.pipelines) {
      const value = pick(pipeline);
      if (value !== undefined) return { db: snapshot, pipeline, value };
    }
  }
  return undefined;
}
