// Validated PipelineFile -> ResolvedPipeline: resource_defaults merged and every default applied, once.
import * as v from "valibot";
import { isTable, type SecretRef } from "./references.ts";
import type { Auth } from "./schema/auth.ts";
import type { EndpointTable, WrittenIncrementalParam } from "./schema/endpoint.ts";
import { type IncrementalConfig, type IncrementalParam, IncrementalParamSchema } from "./schema/incremental.ts";
import type { ExportSection } from "./schema/export.ts";
import type { PipelineFile } from "./schema/index.ts";
import type { ResolvedPaginator } from "./schema/paginator.ts";
import type { ClientConfig, PipelineSection } from "./schema/pipeline.ts";
import { type ResourceConfig, defaultSchemaContract, defaultWriteDisposition } from "./schema/resource.ts";
import { mergeDefaults } from "./merge-defaults.ts";

/** Where a resource's paginator was set; "auto" when nowhere (detected from the first response). */
export type PaginatorLevel = "endpoint" | "resource_defaults" | "client" | "auto";

export type ResolvedPipelineSection = Omit<
  PipelineSection,
  "dataset" | "database" | "destination" | "max_table_nesting" | "secrets_section"
> & {
  /** `<name>_dataset` unless set, as dlt. */
  readonly dataset: string;
  /** `<name>.duckdb` unless set; still relative to where the plan places it. */
  readonly database: string;
  readonly max_table_nesting: number | null;
  readonly secrets_section: string | null;
};

/** `[client]`: the HTTP policy keeps its defaults from the schema; an unset optional limit stays absent. */
export type ResolvedClient = Omit<ClientConfig, "base_url" | "headers" | "auth" | "paginator"> & {
  readonly base_url: string | SecretRef | null;
  readonly headers: NonNullable<ClientConfig["headers"]>;
  readonly auth: Auth | null;
};

/** Every key present: what was optional in the file now holds its resolved value. */
type Settled<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

type Endpoint = Settled<EndpointTable>;

/** A param as resolved: a legacy incremental table holds every key, with its defaults. */
export type ResolvedParamValue = Exclude<Endpoint["params"][string], WrittenIncrementalParam> | IncrementalParam;

export interface ResolvedEndpoint {
  /** The resource's name unless set (`resources = ["users"]`). */
  readonly path: string;
  readonly method: Endpoint["method"];
  readonly params: Readonly<Record<string, ResolvedParamValue>>;
  readonly json: Endpoint["json"] | null;
  readonly data: Endpoint["data"] | null;
  readonly headers: Endpoint["headers"];
  readonly paginator: ResolvedPaginator;
  readonly paginator_level: PaginatorLevel;
  /** TOML path of the paginator that applies, for messages ("" when auto). */
  readonly paginator_path: string;
  /** JSONPath, or null to detect it from the first response. */
  readonly data_selector: string | null;
  readonly response_actions: Endpoint["response_actions"];
  readonly incremental: IncrementalConfig | null;
  /** The endpoint's auth, else the client's. */
  readonly auth: Auth | null;
}

/** A module resource's own keys: the function that yields its records, its parent, its cursor. */
export interface ResolvedModule {
  readonly module: string;
  readonly export: string;
  readonly parent: string | null;
  readonly incremental: IncrementalConfig | null;
}

export type ResolvedResource = Settled<
  Omit<ResourceConfig, "endpoint" | "max_table_nesting" | "module" | "export" | "parent" | "incremental">
> & {
  /** Index in the file's `resources`, for TOML paths in messages. */
  readonly index: number;
  /** A module resource's endpoint is empty (no path, no params): it makes its own requests. */
  readonly endpoint: ResolvedEndpoint;
  /** Set for a module resource (`module` + `export`), null for an endpoint resource. */
  readonly module: ResolvedModule | null;
  /** The resource's, else the pipeline's; null for no limit. */
  readonly max_table_nesting: number | null;
};

export interface ResolvedPipeline {
  readonly pipeline: ResolvedPipelineSection;
  readonly client: ResolvedClient;
  readonly resources: readonly ResolvedResource[];
  /** `[export]`, or null when the file has none (runs then export nothing). */
  readonly export: ExportSection | null;
  /** The file as written (validated): tells a resource's own keys from resource_defaults' for TOML paths. */
  readonly written: PipelineFile;
}

/** Applies resource_defaults and every default a key has; the result never holds an unset setting. */
export function resolvePipeline(file: PipelineFile): ResolvedPipeline {
  const { name, dataset, database, destination: _destination, max_table_nesting, secrets_section, ...pipeline } = file.pipeline;
  const { base_url, headers, auth, paginator: _paginator, ...policy } = file.client;
  return {
    pipeline: {
      ...pipeline,
      name,
      dataset: dataset ?? `${name}_dataset`,
      database: database ?? `${name}.duckdb`,
      max_table_nesting: max_table_nesting ?? null,
      secrets_section: secrets_section ?? null,
    },
    client: { ...policy, base_url: base_url ?? null, headers: headers ?? {}, auth: auth ?? null },
    resources: file.resources.map((resource, index) => resolveResource(file, resource, index)),
    export: file.export ?? null,
    written: file,
  };
}

// internal

function resolveResource(file: PipelineFile, resource: ResourceConfig, index: number): ResolvedResource {
  const merged = mergeDefaults(file.resource_defaults, resource);
  // The schema lets `export` be absent only without `module`.
  const module =
    resource.module !== undefined && resource.export !== undefined
      ? { module: resource.module, export: resource.export, parent: resource.parent ?? null, incremental: resource.incremental ?? null }
      : null;
  return {
    name: resource.name,
    index,
    // resource_defaults.endpoint (params, paginator) describes requests restload makes: not a module's.
    endpoint: resolveEndpoint(file, resource, module ? {} : (merged.endpoint ?? {}), index),
    module,
    primary_key: merged.primary_key ?? [],
    merge_key: merged.merge_key ?? [],
    write_disposition: merged.write_disposition ?? defaultWriteDisposition,
    include_from_parent: merged.include_from_parent ?? [],
    selected: merged.selected ?? true,
    table_name: merged.table_name ?? resource.name,
    columns: merged.columns ?? {},
    max_table_nesting: merged.max_table_nesting ?? file.pipeline.max_table_nesting ?? null,
    processing_steps: merged.processing_steps ?? [],
    schema_contract: merged.schema_contract ?? defaultSchemaContract,
    parallelized: merged.parallelized ?? false,
  };
}

function resolveEndpoint(file: PipelineFile, resource: ResourceConfig, endpoint: EndpointTable, index: number): ResolvedEndpoint {
  // Paginator precedence, as dlt: the resource's endpoint, then resource_defaults.endpoint, then client.
  const levels = [
    { config: resource.endpoint?.paginator, level: "endpoint", path: `resources[${index}].endpoint.paginator` },
    { config: file.resource_defaults.endpoint?.paginator, level: "resource_defaults", path: "resource_defaults.endpoint.paginator" },
    { config: file.client.paginator, level: "client", path: "client.paginator" },
  ] as const;
  const chosen = levels.find((choice) => choice.config !== undefined);
  return {
    path: endpoint.path ?? resource.name,
    method: endpoint.method ?? "GET",
    params: resolveParams(endpoint.params ?? {}),
    json: endpoint.json ?? null,
    data: endpoint.data ?? null,
    headers: endpoint.headers ?? {},
    paginator: chosen?.config ?? { type: "auto" },
    paginator_level: chosen?.level ?? "auto",
    paginator_path: chosen?.path ?? "",
    data_selector: endpoint.data_selector ?? null,
    response_actions: endpoint.response_actions ?? [],
    incremental: endpoint.incremental ?? null,
    auth: endpoint.auth ?? file.client.auth ?? null,
  };
}

/** Legacy incremental params, merged as written with resource_defaults', get their defaults now. */
function resolveParams(params: Endpoint["params"]): Readonly<Record<string, ResolvedParamValue>> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      isTable(value) && value.type === "incremental" ? v.parse(IncrementalParamSchema, value) : (value as ResolvedParamValue),
    ]),
  );
}
