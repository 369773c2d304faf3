// A module resource: `module` + `export` name an async generator function of the user's file that
// yields the records, instead of an `endpoint`; `parent` and `incremental` are its own keys.
import * as v from "valibot";
import { nonEmptyText } from "./_kit.ts";
import { IncrementalSchema } from "./incremental.ts";

/** The keys of `[[resources]]` that only a module resource takes. */
export const moduleResourceEntries = {
  module: v.optional(nonEmptyText),
  export: v.optional(nonEmptyText),
  /** The resource whose records the module is called for, one call per record (`ctx.parent`). */
  parent: v.optional(nonEmptyText),
  /** The cursor restload keeps for the module's records; the module reads its range from `ctx.incremental`. */
  incremental: v.optional(IncrementalSchema),
};

type Written = {
  readonly endpoint?: unknown;
  readonly module?: string | undefined;
  readonly export?: string | undefined;
  readonly parent?: string | undefined;
  readonly incremental?: unknown;
};

/**
 * A resource is an endpoint or a module, never both; `module` needs `export`; `parent` and a
 * resource-level `incremental` belong to module resources (an endpoint resource names its parent
 * with placeholders and sets `endpoint.incremental`).
 */
export function moduleResourceCheck<T extends Written>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const resource = dataset.value;
    const at = (key: keyof Written, message: string) =>
      addIssue({ message, path: [{ type: "object", origin: "value", input: resource, key, value: resource[key] }] });
    if (resource.module === undefined) {
      if (resource.export !== undefined) at("export", 'export names a function of a module resource; set module = "./file.ts" too');
      if (resource.parent !== undefined)
        at(
          "parent",
          "parent applies to module resources; an endpoint resource names its parent with {resources.<parent>.<field>} placeholders or a resolve param",
        );
      if (resource.incremental !== undefined)
        at("incremental", "incremental at the resource level applies to module resources; an endpoint resource sets endpoint.incremental");
      return;
    }
    if (resource.endpoint !== undefined)
      at("endpoint", "a resource is an endpoint or a module, found both; remove endpoint, or module and export");
    if (resource.export === undefined)
      at("export", "required key is missing: a module resource names the async generator function to call with export");
  });
}
