// Runs pipelines end to end (in this process, through the CLI entry) against local servers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, mainTs, type Ran, repoRoot, runMain, tempDir } from "../helpers.ts";
import type { PlannedIncremental } from "../../src/plan/index.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";

export interface Project {
  readonly dir: string;
  readonly pipeline: string;
  readonly database: string;
  run(args?: string[], env?: Record<string, string>): Promise<Ran>;
  /** Rows of a query, as JSON objects (integers exact as numbers or strings). */
  query(sql: string): Promise<Record<string, unknown>[]>;
}

/** A temp directory with `pipeline.toml` written from `toml`; the database is `<name>.duckdb` there. */
export function project(toml: string, name = "test"): Project {
  const dir = tempDir("restload-run-");
  const pipeline = join(dir, "pipeline.toml");
  writeFileSync(pipeline, toml);
  const database = join(dir, `${name}.duckdb`);
  return {
    dir,
    pipeline,
    database,
    run: (args = [], env = {}) => runMain(["run", pipeline, ...args], env),
    async query(sql) {
      const result = await runMain(["sql", database, sql, "--json"]);
      if (result.code !== 0) throw new Error(`query failed: ${result.stderr}`);
      return JSON.parse(result.stdout);
    },
  };
}

/** A project whose pipeline is `toml` and whose `exports.ts` beside it is `moduleText` (a module resource's code). */
export function moduleProject(toml: string, moduleText: string): Project {
  const p = project(toml);
  writeFileSync(join(p.dir, "exports.ts"), moduleText);
  return p;
}

/** An API answering every request with `state.records`, which a test changes between runs; added to `servers` to be stopped. */
export function mutableApi(servers: TestServer[], initial: unknown[]): { server: TestServer; state: { records: unknown[] } } {
  const state = { records: initial };
  const server = startServer(() => json(state.records));
  servers.push(server);
  return { server, state };
}

/** The [pipeline] (name "test", dataset "data") and [client] tables of a test pipeline. */
export const testHead = (url: string) => `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${url}"\n`;

/**
 * Random numbers for tests that pick random moments (mulberry32), seeded from RESTLOAD_TEST_SEED
 * when set, else at random. A test prints the seed so a failure can be replayed with it; timings
 * of real processes still vary, so a replay repeats the same moments, not the same interleaving.
 */
export function seededRandom(): { readonly seed: number; next(): number } {
  const given = process.env["RESTLOAD_TEST_SEED"];
  const seed = given !== undefined && given !== "" ? Number(given) : Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new Error(`RESTLOAD_TEST_SEED must be an integer 0..4294967295, not "${given}"`);
  let state = seed;
  return {
    seed,
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    },
  };
}

/**
 * Kill delays drawn from `seededRandom()` (each `[min, span]` gives `min + random * span` ms), logged
 * with the line that replays them; `killRuns` starts a run per delay and SIGKILLs it then;
 * `replayOnFailure` appends the replay line to a failing assertion.
 */
export function randomKillDelays(bounds: readonly (readonly [number, number])[], testFile: string) {
  const random = seededRandom();
  const delays = bounds.map(([min, span]) => Math.round(min + random.next() * span));
  const replay = `seed ${random.seed}, kills after ${delays.join(", ")} ms; replay with RESTLOAD_TEST_SEED=${random.seed} npm test -- ${testFile}`;
  console.log(`killed at random moments: ${replay}`);
  return {
    delays,
    /** `restload run <pipeline>` once per delay, SIGKILLed after it; `afterEachKill` looks at the database in between. */
    async killRuns(pipeline: string, afterEachKill?: () => Promise<void>): Promise<void> {
      for (const delay of delays) {
        const { proc } = spawnRun(pipeline);
        await Bun.sleep(delay);
        proc.kill("SIGKILL");
        await proc.exited;
        await afterEachKill?.();
      }
    },
    async replayOnFailure(body: () => Promise<void>): Promise<void> {
      try {
        await body();
      } catch (error) {
        // The seed beside the failure itself, not only somewhere above it in the output.
        if (error instanceof Error) error.message = `${error.message}\n(${replay})`;
        throw error;
      }
    },
  };
}

/**
 * Page `page` (0-based, the request's `page` param) of `rows`, `perPage` a page, with a Link
 * header to the next page while there is one: the paging of the test APIs of whole runs.
 */
export function linkedPage(request: { readonly url: URL }, rows: readonly unknown[], perPage: number): Response {
  const page = Number(request.url.searchParams.get("page") ?? 0);
  const next = new URL(request.url);
  next.searchParams.set("page", String(page + 1));
  const headers: Record<string, string> = (page + 1) * perPage < rows.length ? { link: `<${next.href}>; rel="next"` } : {};
  return json(rows.slice(page * perPage, (page + 1) * perPage), { headers });
}

/** The [pipeline] (name "test", dataset "data", the given checkpoint_interval) and [client] tables. */
export const checkpointHead = (url: string, interval = "0.01") =>
  `[pipeline]\nname = "test"\ndataset = "data"\ncheckpoint_interval = ${interval}\n[client]\nbase_url = "${url}"\n`;

export type SpawnedRun = { proc: ReturnType<typeof Bun.spawn>; output: Promise<string> };

/** `restload run <pipeline>` as a process of its own, with `env` added; `output` is its stdout and stderr once it ends. */
export function spawnRun(pipeline: string, env: Record<string, string> = {}): SpawnedRun {
  const proc = Bun.spawn([bunBin, mainTs, "run", pipeline], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text()]).then(
    ([stdout, stderr]) => `${stdout}${stderr}`,
  );
  return { proc, output };
}

/** A planned incremental cursor on `seq` (max, ascending, from 0 via `since`), with `overrides`. */
export const incremental = (overrides: Partial<PlannedIncremental>): PlannedIncremental => ({
  cursor_path: "seq",
  initial_value: 0,
  end_value: null,
  start_param: "since",
  end_param: null,
  last_value_func: "max",
  row_order: "asc",
  lag: null,
  on_cursor_value_missing: "raise",
  range_start: "closed",
  range_end: "open",
  convert: null,
  window: null,
  declared_at: "endpoint.incremental",
  ...overrides,
});
