// ResolvedPipeline -> frozen Plan: pure, so `check` prints it and tests compare it exactly.
import { isAbsolute, join, resolve } from "node:path";
import type { Problem } from "../errors.ts";
import type { LoadedPipeline } from "../config/load.ts";
import { configError } from "../config/load.ts";
import { buildGraph } from "./graph.ts";
import { type ResourceDraft, planResource } from "./resource.ts";
import type { Plan } from "./types.ts";

export type * from "./types.ts";
export type { PlannedTable } from "./tables.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface PlanOptions {
  /** Overrides `pipeline.database` (the `--database` flag). */
  readonly database?: string;
  /** `STATE_DIRECTORY` is read from here. */
  readonly env: Env;
}

/**
 * Plans a loaded pipeline. Every problem of every resource is gathered and thrown together as
 * one E_CONFIG error; warnings go into the plan.
 */
export function plan(loaded: LoadedPipeline, options: PlanOptions): Plan {
  const { config } = loaded;
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const drafts: ResourceDraft[] = config.resources.map((_, index) => planResource(config, index, problems, warnings));
  const graph = problems.length === 0 ? buildGraph(drafts, problems) : { resources: [], units: [], tables: [] };
  if (problems.length > 0) throw configError(loaded.file, problems);

  const { dataset, system_prefix, max_concurrency, duckdb_memory_limit, secrets_section, checkpoint_interval } = config.pipeline;
  const result: Plan = {
    pipeline: config.pipeline.name,
    pipeline_file: loaded.file,
    // --database is a path typed in a shell: it resolves against the working directory, as for
    // every command (serve, sql); the file's `database` key follows the rule of resolveStatePath.
    database:
      options.database !== undefined ? resolve(options.database) : resolveStatePath(config.pipeline.database, loaded.dir, options.env),
    dataset,
    system_prefix,
    max_concurrency,
    duckdb_memory_limit,
    secrets_section,
    checkpoint_interval,
    client: config.client as Plan["client"],
    resources: graph.resources,
    units: graph.units,
    tables: graph.tables,
    export: config.export && { dir: resolveStatePath(config.export.dir, loaded.dir, options.env) },
    warnings,
  };
  return deepFreeze(result);
}

/**
 * A relative path of the pipeline file (`pipeline.database`, `export.dir`) resolves against
 * $STATE_DIRECTORY (systemd's StateDirectory=) when set, else against the pipeline file's
 * directory, never the working directory: every command and every timer agree on it.
 *
 * @example
 * resolveStatePath("lake", "/etc/restload", { STATE_DIRECTORY: "/var/lib/restload" }) // "/var/lib/restload/lake"
 */
export function resolveStatePath(path: string, pipelineDir: string, env: Env): string {
  if (isAbsolute(path)) return path;
  const state = env.STATE_DIRECTORY?.split(":")[0];
  return join(state || pipelineDir, path);
}

// internal

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
