// Write settings that work but are probably not what the user meant: printed by check, never fatal.
import { isTable } from "../config/references.ts";
import type { ResolvedResource } from "../config/resolve.ts";
import type { IncrementalConfig } from "../config/schema/incremental.ts";
import { partialExtract } from "./tables.ts";
import { parseTemplate } from "./template.ts";

/**
 * Merge without a key (it appends), lag with append (the lag window loads again every run), and
 * scd2 where a load is not a complete extract: no absent record is retired, and without a key a
 * changed record's earlier version stays current too.
 */
export function writeWarnings(
  resource: Pick<ResolvedResource, "name" | "write_disposition" | "primary_key" | "merge_key" | "endpoint" | "module">,
  incremental: Pick<IncrementalConfig, "lag"> | null,
): string[] {
  const warnings: string[] = [];
  const { disposition, strategy } = resource.write_disposition;
  const keyless = resource.primary_key.length === 0 && resource.merge_key.length === 0;
  // Only delete-insert falls back to append: upsert without a key is refused.
  if (strategy === "delete-insert" && keyless) {
    warnings.push(`resource "${resource.name}": write_disposition = "merge" without primary_key or merge_key behaves as append`);
  }
  if (strategy === "scd2" && resource.merge_key.length === 0) {
    const parent = parentOf(resource);
    // A module makes its own requests: the client's or resource_defaults' paginator is not its own.
    const requests = resource.module === null ? resource.endpoint : { paginator: { type: "single_page" } as const, response_actions: [] };
    const partial = partialExtract({ parent, incremental, paginator: requests.paginator, response_actions: requests.response_actions });
    if (partial !== null && keyless) {
      warnings.push(
        `resource "${resource.name}": strategy = "scd2" without primary_key or merge_key keeps the earlier versions of a changed record current, as ${partial} (records absent from a load are not retired); set primary_key`,
      );
    } else if (partial !== null && parent === null && incremental === null) {
      // A child or incremental resource never retires absent records (docs/loading.md): a limit or
      // an ignored response is what turned off the retirement a complete extract would do.
      warnings.push(
        `resource "${resource.name}": strategy = "scd2" retires no record absent from a load, as ${partial}; a changed record's earlier version still closes by primary_key`,
      );
    }
  }
  if (incremental !== null && incremental.lag !== null && incremental.lag > 0 && disposition === "append") {
    warnings.push(
      `resource "${resource.name}": incremental lag with write_disposition = "append" loads the records inside the lag window again on every run`,
    );
  }
  return warnings;
}

// internal

/**
 * The parent the resource's requests name, as the resource graph finds it: a
 * `{resources.<parent>.<field>}` placeholder, a legacy resolve param, or a module's `parent`.
 * Warnings are made per resource, before the graph links parents, so they look for themselves.
 */
function parentOf(resource: Pick<ResolvedResource, "endpoint" | "module">): string | null {
  if (resource.module !== null) return resource.module.parent;
  const { path, params, json, data, headers } = resource.endpoint;
  for (const value of Object.values(params)) if (isTable(value) && value.type === "resolve") return String(value.resource);
  for (const value of [path, params, json, data, headers]) {
    const named = resourceNamed(value);
    if (named !== null) return named;
  }
  return null;
}

function resourceNamed(value: unknown): string | null {
  if (typeof value === "string") {
    for (const part of parseTemplate(value)) if (typeof part !== "string" && part.kind === "resource") return part.resource;
    return null;
  }
  const items = Array.isArray(value) ? value : isTable(value) ? Object.values(value) : [];
  for (const item of items) {
    const named = resourceNamed(item);
    if (named !== null) return named;
  }
  return null;
}
