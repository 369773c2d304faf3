// A module resource of the file -> its planned form: the function to call, its parent, its cursor.
// It has no request templates: the module makes its own requests through ctx.fetch.
import type { Problem } from "../errors.ts";
import { formatPath } from "../config/path.ts";
import type { ResolvedPipeline } from "../config/resolve.ts";
import { windowProblems } from "./incremental-window.ts";
import { loadSettings } from "./load-settings.ts";
import type { ResourceDraft } from "./resource.ts";
import type { Placeholder } from "./template.ts";
import { writeWarnings } from "./write-warnings.ts";

/**
 * The bounds a module reads from `ctx.incremental`: a window's start and end reach the module as
 * start_value and end_value, as they would reach a request through these placeholders.
 */
const moduleRange: readonly Placeholder[] = [
  { kind: "incremental", name: "start_value", text: "{incremental.start_value}" },
  { kind: "incremental", name: "end_value", text: "{incremental.end_value}" },
];

/** Plans module resource `index` (one with `module` and `export`), adding problems and warnings found. */
export function planModuleResource(config: ResolvedPipeline, index: number, problems: Problem[], warnings: string[]): ResourceDraft {
  const resource = config.resources[index]!;
  const module = resource.module!;
  const at = (...keys: string[]) => formatPath(["resources", index, ...keys]);
  const { incremental } = module;
  if (incremental) {
    for (const key of ["start_param", "end_param"] as const) {
      if (incremental[key] !== null)
        problems.push({
          path: at("incremental", key),
          message: `${key} names a request parameter, and a module resource makes its own requests; the module reads the range from ctx.incremental (start_value, end_value)`,
        });
    }
    problems.push(...windowProblems(incremental, at("incremental"), moduleRange));
  }
  // A child's cursor is kept per parent record: without a primary key, parent records cannot be told apart.
  const parent = module.parent === null ? undefined : config.resources.find((candidate) => candidate.name === module.parent);
  const parentKey = parent?.primary_key ?? [];
  if (incremental && parent && parentKey.length === 0) {
    problems.push({
      path: at("incremental"),
      message: `a child module resource keeps its cursor per parent record, told apart by the parent's primary_key; set primary_key on resource "${parent.name}"`,
    });
  }
  warnings.push(...writeWarnings(resource, incremental));

  return {
    name: resource.name,
    index,
    parent: module.parent,
    // A parent that does not exist, or the resource itself, is reported by the graph at this path.
    parentRefs: module.parent === null ? [] : [{ resource: module.parent, path: at("parent") }],
    tableName: resource.table_name,
    selected: resource.selected,
    method: "GET",
    path: "",
    params: {},
    json: null,
    data: null,
    headers: {},
    // ctx.fetch authenticates as the client does.
    auth: config.client.auth,
    paginator: { type: "single_page" },
    paginator_level: "auto",
    data_selector: null,
    response_actions: [],
    incremental: incremental && { ...incremental, declared_at: at("incremental") },
    write_disposition: resource.write_disposition,
    ...loadSettings(resource),
    module: { module: module.module, export: module.export, parent_key: parentKey },
  };
}
