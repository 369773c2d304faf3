// Merges resource_defaults into a resource by dlt's rules.
import { isTable } from "./references.ts";
import type { EndpointTable } from "./schema/endpoint.ts";
import type { ResourceConfig, ResourceDefaults } from "./schema/resource.ts";

/**
 * `endpoint.params` and `endpoint.json` are deep-merged, `columns` merged per column, every other
 * key (endpoint keys included) taken from the resource when it sets it, else from the defaults.
 */
export function mergeDefaults(defaults: ResourceDefaults, resource: ResourceConfig): ResourceConfig {
  const merged: ResourceConfig = { ...defaults, ...resource };
  const endpoint = mergeEndpoint(defaults.endpoint, resource.endpoint);
  if (endpoint !== undefined) merged.endpoint = endpoint;
  if (defaults.columns !== undefined || resource.columns !== undefined) merged.columns = { ...defaults.columns, ...resource.columns };
  return merged;
}

/** Deep merge of TOML tables; arrays and scalars of `over` replace those of `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isTable(base) || !isTable(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(base[key], value);
  return out;
}

// internal

function mergeEndpoint(base: EndpointTable | undefined, over: EndpointTable | undefined): EndpointTable | undefined {
  if (base === undefined) return over;
  if (over === undefined) return base;
  const merged: EndpointTable = { ...base, ...over };
  if (base.params !== undefined || over.params !== undefined)
    merged.params = deepMerge(base.params, over.params) as EndpointTable["params"] & {};
  if (base.json !== undefined || over.json !== undefined) merged.json = deepMerge(base.json, over.json) as EndpointTable["json"] & {};
  return merged;
}
