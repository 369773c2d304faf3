// Runs pipelines end to end (in this process, through the CLI entry) against local servers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Ran, runMain, tempDir } from "../helpers.ts";
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

/** An API answering every request with `state.records`, which a test changes between runs; added to `servers` to be stopped. */
export function mutableApi(servers: TestServer[], initial: unknown[]): { server: TestServer; state: { records: unknown[] } } {
  const state = { records: initial };
  const server = startServer(() => json(state.records));
  servers.push(server);
  return { server, state };
}

/** The [pipeline] (name "test", dataset "data") and [client] tables of a test pipeline. */
export const testHead = (url: string) => `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${url}"\n`;
