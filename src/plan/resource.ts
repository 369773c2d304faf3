// One resource of the file -> its request templates, paginator, incremental and write settings.
import type { Problem } from "../errors.ts";
import { SecretRef, isTable } from "../config/references.ts";
import { formatPath, type PathKey } from "../config/path.ts";
import type { ResolvedPipeline } from "../config/resolve.ts";
import type { IncrementalConfig, IncrementalParam, ResolveParam } from "../config/schema/incremental.ts";
import { windowProblems } from "./incremental-window.ts";
import { loadSettings } from "./load-settings.ts";
import { planModuleResource } from "./module-resource.ts";
import { writeWarnings } from "./write-warnings.ts";
import { planPaginator } from "./paginator.ts";
import { type Placeholder, parseTemplate } from "./template.ts";
import type { PlannedResource, RequestValue } from "./types.ts";

/** A planned resource before the resource graph gives it its unit and table. */
export type ResourceDraft = Omit<PlannedResource, "unit" | "table"> & {
  /** Parent resources named by placeholders, with the TOML path of each mention. */
  readonly parentRefs: readonly { readonly resource: string; readonly path: string }[];
  readonly tableName: string;
};

/** Plans resource `index`, adding every problem found to `problems` and notes to `warnings`. */
export function planResource(config: ResolvedPipeline, index: number, problems: Problem[], warnings: string[]): ResourceDraft {
  const resource = config.resources[index]!;
  if (resource.module) return planModuleResource(config, index, problems, warnings);
  const at = locator(config, index);
  const { endpoint } = resource;
  let path = endpoint.path;

  // Legacy param forms: resolve params become placeholders, an incremental param the start param.
  const params: Record<string, RequestValue> = {};
  /** Placeholders written into the path for legacy resolve params, pointing back at the param. */
  const legacyOrigins = new Map<string, string>();
  let incremental: { config: IncrementalConfig; path: string } | undefined;
  const declareIncremental = (config: IncrementalConfig, where: string) => {
    if (incremental) problems.push({ path: where, message: `incremental is declared twice: here and at ${incremental.path}; keep one` });
    else incremental = { config, path: where };
  };
  for (const [key, value] of Object.entries(endpoint.params)) {
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

  const headers = endpoint.headers as Record<string, RequestValue>;
  const json = endpoint.json as RequestValue;
  const data = endpoint.data as RequestValue;
  if (endpoint.json !== null && endpoint.data !== null) {
    problems.push({ path: at(["endpoint", "data"]), message: "json and data are both set; a request has one body, choose one" });
  }
  // A GET carries no body: fetch refuses one (Bun, Node, Deno), so the run would fail at its first request.
  for (const key of ["json", "data"] as const) {
    if (endpoint[key] !== null && endpoint.method !== "POST") {
      problems.push({
        path: at(["endpoint", key]),
        message: `${key} is a request body, which needs method = "POST"; set endpoint.method = "POST" or send the values as params`,
      });
    }
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

  // A path that is one placeholder is a URL from parent data, used as it is: only the data can say
  // whether it is absolute (a relative one without base_url fails its unit then, with E_DATA).
  const pathParts = parseTemplate(path);
  const urlFromData = pathParts.length === 1 && typeof pathParts[0] !== "string";
  if (!urlFromData && !/^https?:\/\//i.test(path) && config.client.base_url === null) {
    problems.push({
      path: at(["endpoint", "path"]),
      message: `the path ${JSON.stringify(path)} is relative and client.base_url is not set; set base_url or give an absolute URL`,
    });
  }

  const disposition = resource.write_disposition;
  const plannedIncremental = incremental ? { ...incremental.config, declared_at: incremental.path } : null;
  if (incremental)
    problems.push(
      ...windowProblems(
        incremental.config,
        incremental.path,
        seen.map((found) => found.placeholder),
      ),
    );
  warnings.push(...writeWarnings(resource, plannedIncremental));

  return {
    name: resource.name,
    index,
    parent: parentRefs[0]?.resource ?? null,
    parentRefs,
    tableName: resource.table_name,
    selected: resource.selected,
    method: endpoint.method,
    path,
    params,
    json,
    data,
    headers,
    auth: endpoint.auth,
    paginator: planPaginator(endpoint, problems),
    paginator_level: endpoint.paginator_level,
    data_selector: endpoint.data_selector,
    response_actions: endpoint.response_actions,
    incremental: plannedIncremental,
    write_disposition: disposition,
    ...loadSettings(resource),
    module: null,
  };
}

// internal

/** TOML path of a key of resource `index`, pointing at resource_defaults when the value came from there. */
function locator(config: ResolvedPipeline, index: number): (keys: PathKey[]) => string {
  const file = config.written;
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
