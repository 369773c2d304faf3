// One resource of the file -> its request templates, paginator, incremental and write settings.
import type { Problem } from "../errors.ts";
import { SecretRef, isTable } from "../config/references.ts";
import { formatPath, type PathKey } from "../config/path.ts";
import type { PipelineFile } from "../config/schema/index.ts";
import type { IncrementalConfig, IncrementalParam, ResolveParam } from "../config/schema/incremental.ts";
import { mergeDefaults } from "./merge.ts";
import { choosePaginator, planPaginator } from "./paginator.ts";
import { type Placeholder, parseTemplate } from "./template.ts";
import type { PlannedIncremental, PlannedResource, PlannedStep, PlannedWriteDisposition, RequestValue } from "./types.ts";

/** A planned resource before the resource graph gives it its unit and table. */
export type ResourceDraft = Omit<PlannedResource, "unit" | "table"> & {
  /** Parent resources named by placeholders, with the TOML path of each mention. */
  readonly parentRefs: readonly { readonly resource: string; readonly path: string }[];
  readonly tableName: string;
};

/** Plans resource `index`, adding every problem found to `problems` and notes to `warnings`. */
export function planResource(file: PipelineFile, index: number, problems: Problem[], warnings: string[]): ResourceDraft {
  const raw = file.resources[index]!;
  const merged = mergeDefaults(file.resource_defaults, raw);
  const at = locator(file, index);
  const endpoint = merged.endpoint ?? {};
  const method = endpoint.method ?? "GET";
  let path = endpoint.path ?? raw.name;

  // Legacy param forms: resolve params become placeholders, an incremental param the start param.
  const params: Record<string, RequestValue> = {};
  /** Placeholders written into the path for legacy resolve params, pointing back at the param. */
  const legacyOrigins = new Map<string, string>();
  let incremental: { config: IncrementalConfig; path: string } | undefined;
  const declareIncremental = (config: IncrementalConfig, where: string) => {
    if (incremental) problems.push({ path: where, message: `incremental is declared twice: here and at ${incremental.path}; keep one` });
    else incremental = { config, path: where };
  };
  for (const [key, value] of Object.entries(endpoint.params ?? {})) {
    const where = at(["endpoint", "params", key]);
    if (isResolveParam(value)) {
      const placeholder = `{resources.${value.resource}.${value.field.replace(/^\$\./, "")}}`;
      legacyOrigins.set(placeholder, where);
      if (path.includes(`{${key}}`)) path = path.replaceAll(`{${key}}`, placeholder);
      else params[key] = placeholder;
    } else if (isIncrementalParam(value)) {
      const { type: _type, ...rest } = value;
      declareIncremental({ ...rest, start_param: key }, where);
    } else {
      params[key] = value as RequestValue;
    }
  }
  if (endpoint.incremental) declareIncremental(endpoint.incremental, at(["endpoint", "incremental"]));

  const headers = (endpoint.headers ?? {}) as Record<string, RequestValue>;
  const json = (endpoint.json ?? null) as RequestValue;
  const data = (endpoint.data ?? null) as RequestValue;
  if (endpoint.json !== undefined && endpoint.data !== undefined) {
    problems.push({ path: at(["endpoint", "data"]), message: "json and data are both set; a request has one body, choose one" });
  }

  // Placeholders: every one must name a resource or the incremental cursor.
  const parentRefs: { resource: string; path: string }[] = [];
  const seen: { placeholder: Placeholder; path: string }[] = [];
  collectPlaceholders(path, at(["endpoint", "path"]), seen);
  collectPlaceholders(params, at(["endpoint", "params"]), seen);
  collectPlaceholders(json, at(["endpoint", "json"]), seen);
  collectPlaceholders(data, at(["endpoint", "data"]), seen);
  collectPlaceholders(headers, at(["endpoint", "headers"]), seen);
  for (const { placeholder, path: found } of seen) {
    const where = legacyOrigins.get(placeholder.text) ?? found;
    if (placeholder.kind === "resource") parentRefs.push({ resource: placeholder.resource, path: where });
    else if (placeholder.kind === "incremental" && !incremental) {
      problems.push({ path: where, message: `${placeholder.text} needs an incremental cursor: set endpoint.incremental` });
    } else if (placeholder.kind === "unknown") {
      problems.push({
        path: where,
        message: `unknown placeholder ${placeholder.text}: placeholders are {resources.<resource>.<field>} and {incremental.start_value|initial_value|last_value|end_value}; write {{ and }} for literal braces`,
      });
    }
  }

  if (!/^https?:\/\//i.test(path) && file.client.base_url === undefined) {
    problems.push({ path: at(["endpoint", "path"]), message: `the path ${JSON.stringify(path)} is relative and client.base_url is not set; set base_url or give an absolute URL` });
  }

  const paginator = choosePaginator([
    { config: raw.endpoint?.paginator, level: "endpoint", path: `resources[${index}].endpoint.paginator` },
    { config: file.resource_defaults.endpoint?.paginator, level: "resource_defaults", path: "resource_defaults.endpoint.paginator" },
    { config: file.client.paginator, level: "client", path: "client.paginator" },
  ]);

  const writeDisposition = merged.write_disposition ?? { disposition: "append" as const };
  const strategy = (writeDisposition as { strategy?: "delete-insert" | "upsert" }).strategy;
  const disposition: PlannedWriteDisposition = {
    disposition: writeDisposition.disposition,
    strategy: writeDisposition.disposition === "merge" ? (strategy ?? "delete-insert") : null,
  };
  const primaryKey = merged.primary_key ?? [];
  const mergeKey = merged.merge_key ?? [];
  if (disposition.disposition === "merge" && primaryKey.length === 0 && mergeKey.length === 0) {
    warnings.push(`resource "${raw.name}": write_disposition = "merge" without primary_key or merge_key behaves as append`);
  }
  const plannedIncremental = incremental ? planIncremental(incremental.config, incremental.path, problems) : null;
  if (plannedIncremental?.lag != null && plannedIncremental.lag > 0 && disposition.disposition === "append") {
    warnings.push(`resource "${raw.name}": incremental lag with write_disposition = "append" loads the records inside the lag window again on every run`);
  }

  return {
    name: raw.name,
    index,
    parent: parentRefs[0]?.resource ?? null,
    parentRefs,
    tableName: merged.table_name ?? raw.name,
    selected: merged.selected ?? true,
    method,
    path,
    params,
    json,
    data,
    headers,
    auth: endpoint.auth ?? file.client.auth ?? null,
    paginator: planPaginator(paginator, method, problems),
    paginator_level: paginator.level,
    data_selector: endpoint.data_selector ?? null,
    response_actions: (endpoint.response_actions ?? []).map((action) => ({
      status_code: action.status_code === undefined ? null : [action.status_code].flat(),
      content: action.content ?? null,
      action: action.action,
    })),
    incremental: plannedIncremental,
    write_disposition: disposition,
    primary_key: primaryKey,
    merge_key: mergeKey,
    include_from_parent: merged.include_from_parent ?? [],
    columns: merged.columns ?? {},
    max_table_nesting: merged.max_table_nesting ?? file.pipeline.max_table_nesting ?? null,
    processing_steps: (merged.processing_steps ?? []) as PlannedStep[],
    schema_contract: {
      tables: merged.schema_contract?.tables ?? "evolve",
      columns: merged.schema_contract?.columns ?? "evolve",
      data_type: merged.schema_contract?.data_type ?? "evolve",
    },
  };
}

// internal

/** TOML path of a key of resource `index`, pointing at resource_defaults when the value came from there. */
function locator(file: PipelineFile, index: number): (keys: PathKey[]) => string {
  return (keys) => {
    const own = formatPath(["resources", index, ...keys]);
    if (hasPath(file.resources[index], keys)) return own;
    return hasPath(file.resource_defaults, keys) ? formatPath(["resource_defaults", ...keys]) : own;
  };
}

function hasPath(value: unknown, keys: readonly PathKey[]): boolean {
  let current: unknown = value;
  for (const key of keys) {
    if (!isTable(current) || !(String(key) in current)) return false;
    current = current[String(key)];
  }
  return true;
}

function isResolveParam(value: unknown): value is ResolveParam {
  return isTable(value) && value.type === "resolve";
}

function isIncrementalParam(value: unknown): value is IncrementalParam {
  return isTable(value) && value.type === "incremental";
}

function collectPlaceholders(value: unknown, path: string, out: { placeholder: Placeholder; path: string }[]): void {
  if (typeof value === "string") {
    for (const part of parseTemplate(value)) if (typeof part !== "string") out.push({ placeholder: part, path });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collectPlaceholders(item, `${path}[${i}]`, out));
  } else if (isTable(value) && !(value instanceof SecretRef)) {
    for (const [key, item] of Object.entries(value)) collectPlaceholders(item, `${path}.${formatPath([key])}`, out);
  }
}

function planIncremental(config: IncrementalConfig, path: string, problems: Problem[]): PlannedIncremental {
  if (config.end_value !== undefined && config.initial_value === undefined) {
    problems.push({ path: `${path}.end_value`, message: "end_value needs initial_value: a backfill window has a start and an end" });
  }
  return {
    declared_at: path,
    cursor_path: config.cursor_path,
    initial_value: config.initial_value ?? null,
    end_value: config.end_value ?? null,
    start_param: config.start_param ?? null,
    end_param: config.end_param ?? null,
    last_value_func: config.last_value_func ?? "max",
    row_order: config.row_order ?? null,
    lag: config.lag ?? null,
    on_cursor_value_missing: config.on_cursor_value_missing ?? "raise",
    range_start: config.range_start ?? "closed",
    range_end: config.range_end ?? "open",
    convert: config.convert ?? null,
  };
}
