// The status page as a Hono app: overview, run detail, cursors, JSON API, /healthz, /metrics, all
// from the newest committed data read (see committed.ts) and the live runs' status files.
import { type Context, Hono } from "hono";
import { CommittedDatabases } from "./committed.ts";
import { health, healthNotes } from "./health.ts";
import { contentPart, page } from "./html-layout.ts";
import { overviewContent } from "./html-overview.ts";
import { cursorsContent, runContent } from "./html-run.ts";
import { metrics } from "./metrics.ts";
import { shownStatus } from "./outcome.ts";
import type { DatabaseSnapshot, PipelineSnapshot } from "./types.ts";

export interface ServeOptions {
  readonly databases: readonly string[];
  /** A run older than this since the last successful unit makes /healthz fail; seconds. */
  readonly maxAgeSeconds: number | null;
  /** Required (bearer header or ?token=) when set: binding beyond loopback. */
  readonly token: string | null;
  /** The wall clock health and ages are judged by (tests move it forward). */
  readonly now?: () => number;
}

export interface StatusApp {
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Starts reading the databases in the background too (requests read what changed themselves). */
  start(): void;
  stop(): void;
}

export function createApp(options: ServeOptions): StatusApp {
  const app = new Hono();
  const now = options.now ?? Date.now;
  const committed = new CommittedDatabases(options.databases, now);
  const all = () => committed.current();

  if (options.token !== null) {
    const token = options.token;
    app.use("*", async (c, next) => {
      const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? c.req.query("token");
      if (given !== token) return c.text("unauthorized: pass the token as a bearer header or ?token=\n", 401);
      await next();
    });
  }
  const pageToken = (c: Context) => (options.token !== null ? (c.req.query("token") ?? null) : null);
  // The whole page, or with ?part=main only its content: what the page's script swaps in.
  const html = (c: Context, title: string, content: string) =>
    c.req.query("part") === contentPart ? c.html(content) : c.html(page(title, content));

  app.get("/", async (c) => html(c, "restload", overviewContent(await all(), now(), pageToken(c))));

  app.get("/runs/:runId", async (c) => {
    const found = findRun(await all(), c.req.query("db"), c.req.param("runId"));
    if (!found) return c.text("no such run\n", 404);
    const { db, pipeline, run } = found;
    const live = db.live.find((doc) => doc.run_id === run.run_id) ?? null;
    const status = shownStatus(run, db, now());
    return html(
      c,
      `run ${run.run_id}`,
      runContent(pipeline, run, pipeline.loads_by_run[run.run_id] ?? [], { live, status }, now(), pageToken(c)),
    );
  });

  app.get("/cursors", async (c) => {
    const found = find(await all(), c.req.query("db"), (p) => (p.dataset === c.req.query("dataset") ? p : undefined));
    if (!found) return c.text("no such pipeline\n", 404);
    return html(c, "cursors", cursorsContent(found.db, found.pipeline, pageToken(c)));
  });

  app.get("/api/pipelines", async (c) => c.json(await all()));
  app.get("/api/runs/:runId", async (c) => {
    const found = findRun(await all(), c.req.query("db"), c.req.param("runId"));
    if (!found) return c.json({ error: "no such run" }, 404);
    return c.json({ run: found.run, loads: found.pipeline.loads_by_run[found.run.run_id] ?? [] });
  });

  app.get("/healthz", async (c) => {
    const databases = await all();
    const problems = health(databases, options.maxAgeSeconds, now());
    // Said, not judged by: a failed export leaves the status as the runs make it.
    const notes = healthNotes(databases, now());
    if (problems.length === 0) return c.text(["ok", ...notes, ""].join("\n"));
    // Which read the verdict rests on, when a run holds the file just now.
    const reads = databases
      .filter((db) => db.read_at !== null && db.read_failure === "locked")
      .map((db) => `${db.database}: committed data read at ${db.read_at} (${db.note})`);
    return c.text(`${[...problems, ...notes, ...reads].join("\n")}\n`, 503);
  });

  app.get("/metrics", async (c) =>
    c.text(metrics(await all(), now()), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );

  return { fetch: app.fetch, start: () => committed.start(), stop: () => committed.stop() };
}

// internal

function find<T>(databases: readonly DatabaseSnapshot[], db: string | undefined, pick: (p: PipelineSnapshot) => T | undefined) {
  for (const snapshot of databases) {
    if (db !== undefined && snapshot.database !== db) continue;
    for (const pipeline of snapshot.pipelines) {
      const value = pick(pipeline);
      if (value !== undefined) return { db: snapshot, pipeline, value };
    }
  }
  return undefined;
}

function findRun(databases: readonly DatabaseSnapshot[], db: string | undefined, runId: string) {
  const found = find(databases, db, (p) => p.runs.find((run) => run.run_id === runId));
  return found ? { db: found.db, pipeline: found.pipeline, run: found.value } : undefined;
}
