// The frozen Plan: everything a run needs, with defaults merged and references checked. Types that
// describe a setting as resolved come from the config schema; the plan adds what it derives.
import type { SecretRef } from "../config/references.ts";
import type { PaginatorLevel, ResolvedClient, ResolvedEndpoint, ResolvedPipelineSection, ResolvedResource } from "../config/resolve.ts";
import type { IncrementalConfig } from "../config/schema/incremental.ts";
import type { ResolvedPaginator } from "../config/schema/paginator.ts";
import type { WriteDisposition } from "../config/schema/resource.ts";
import type { Step } from "../config/schema/steps.ts";
import type { PlannedTable } from "./tables.ts";

export type { PaginatorLevel };

/** Read-only all the way down; secret references stay what they are. */
export type Frozen<T> = T extends SecretRef | ((...args: never[]) => unknown)
  ? T
  : T extends readonly (infer U)[]
    ? readonly Frozen<U>[]
    : T extends object
      ? { readonly [K in keyof T]: Frozen<T[K]> }
      : T;

/** A paginator with every parameter filled in (null where it does not apply). */
export type PlannedPaginator = Frozen<ResolvedPaginator>;

export type Scalar = string | number | bigint | boolean;

export type PlannedIncremental = Frozen<
  IncrementalConfig & {
    /** Where it was declared: `endpoint.incremental` or a legacy param. */
    declared_at: string;
  }
>;

/** `strategy` only for merge. */
export type PlannedWriteDisposition = Frozen<WriteDisposition>;

/** A request template: strings may hold placeholders; secrets stay references until sent. */
export type RequestValue = null | Scalar | SecretRef | readonly RequestValue[] | { readonly [key: string]: RequestValue };

/** Steps stay as the schema gives them: the step runner reads their conditions as `Condition`. */
export type PlannedStep = Readonly<Step>;

/** A module resource's function, and how a child one tells its parent records apart. */
export interface PlannedModule {
  /** As written: relative to the pipeline file. */
  readonly module: string;
  readonly export: string;
  /**
   * The parent's primary key fields: a child module resource's cursor is kept per parent record,
   * keyed by these values (`{"id":7}`). Empty for a root.
   */
  readonly parent_key: readonly string[];
}

export type PlannedResource = Frozen<
  Pick<
    ResolvedResource,
    | "name"
    | "index"
    | "selected"
    | "write_disposition"
    | "primary_key"
    | "merge_key"
    | "include_from_parent"
    | "columns"
    | "max_table_nesting"
    | "schema_contract"
  > &
    Pick<ResolvedEndpoint, "method" | "auth" | "paginator_level" | "data_selector" | "response_actions">
> & {
  /** The load unit (root resource name) this resource belongs to. */
  readonly unit: string;
  readonly parent: string | null;
  /** Normalised table name; null when `selected = false` (extracted for children only). */
  readonly table: string | null;
  /** Path template, legacy `{param}` resolve placeholders rewritten as `{resources.<parent>.<field>}`. */
  readonly path: string;
  readonly params: Readonly<Record<string, RequestValue>>;
  readonly json: RequestValue;
  readonly data: RequestValue;
  readonly headers: Readonly<Record<string, RequestValue>>;
  readonly paginator: PlannedPaginator;
  readonly incremental: PlannedIncremental | null;
  readonly processing_steps: readonly PlannedStep[];
  /**
   * Set for a module resource: its records come from the user's function, which makes its own
   * requests; the request fields above are then empty and unused.
   */
  readonly module: PlannedModule | null;
};

export interface LoadUnit {
  /** The root resource's name. */
  readonly name: string;
  /** The root first, then its dependents, parents before children. */
  readonly resources: readonly string[];
  readonly tables: readonly string[];
}

export type Plan = Frozen<
  Pick<
    ResolvedPipelineSection,
    "dataset" | "system_prefix" | "max_concurrency" | "duckdb_memory_limit" | "secrets_section" | "checkpoint_interval"
  >
> & {
  readonly pipeline: string;
  readonly pipeline_file: string;
  /** Absolute path of the DuckDB file. */
  readonly database: string;
  readonly client: Frozen<Omit<ResolvedClient, "headers">> & { readonly headers: Readonly<Record<string, RequestValue>> };
  /** Parents before children. */
  readonly resources: readonly PlannedResource[];
  readonly units: readonly LoadUnit[];
  /** The units' root tables and their governing resources (`tables.ts` has the rule for child tables). */
  readonly tables: readonly PlannedTable[];
  /** `[export]`: the export root (absolute; the dataset's folder is `<dir>/<dataset>`), written after every successful run; null without it. */
  readonly export: { readonly dir: string } | null;
  /** Things that work but are probably not what the user meant; printed, never fatal. */
  readonly warnings: readonly string[];
};
