// The frozen Plan: everything a run needs, with defaults merged and references checked.
import type { SecretRef } from "../config/references.ts";
import type { Auth } from "../config/schema/auth.ts";
import type { ClientConfig } from "../config/schema/pipeline.ts";
import type { ColumnHint } from "../config/schema/resource.ts";
import type { Condition } from "../config/schema/steps.ts";

export type PaginatorLevel = "endpoint" | "resource_defaults" | "client" | "auto";

/** A paginator with every parameter filled in (null where it does not apply). */
export type PlannedPaginator =
  | { readonly type: "json_link"; readonly next_url_path: string }
  | { readonly type: "header_link"; readonly links_next_key: string }
  | { readonly type: "header_cursor"; readonly cursor_key: string; readonly cursor_param: string }
  | {
      readonly type: "cursor";
      readonly cursor_path: string;
      readonly cursor_param: string | null;
      readonly cursor_body_path: string | null;
      readonly stop_after_empty_page: boolean;
      readonly has_more_path: string | null;
    }
  | {
      readonly type: "offset";
      readonly limit: number;
      readonly offset: number;
      readonly offset_param: string | null;
      readonly offset_body_path: string | null;
      readonly limit_param: string | null;
      readonly limit_body_path: string | null;
      readonly total_path: string | null;
      readonly maximum_offset: number | null;
      readonly stop_after_empty_page: boolean;
      readonly has_more_path: string | null;
    }
  | {
      readonly type: "page_number";
      readonly base_page: number;
      readonly page: number;
      readonly page_param: string | null;
      readonly page_body_path: string | null;
      readonly total_path: string | null;
      readonly maximum_page: number | null;
      readonly stop_after_empty_page: boolean;
      readonly has_more_path: string | null;
    }
  | { readonly type: "single_page" }
  | { readonly type: "auto" };

export type Scalar = string | number | bigint | boolean;

export interface PlannedIncremental {
  /** Where it was declared: `endpoint.incremental` or a legacy param. */
  readonly declared_at: string;
  readonly cursor_path: string;
  readonly initial_value: Scalar | null;
  readonly end_value: Scalar | null;
  readonly start_param: string | null;
  readonly end_param: string | null;
  readonly last_value_func: "max" | "min";
  readonly row_order: "asc" | "desc" | null;
  readonly lag: number | null;
  readonly on_cursor_value_missing: "raise" | "include" | "exclude";
  readonly range_start: "closed" | "open";
  readonly range_end: "open" | "closed";
  readonly convert: string | { readonly module: string; readonly export: string } | null;
}

export interface PlannedWriteDisposition {
  readonly disposition: "append" | "replace" | "merge";
  /** Only for merge. */
  readonly strategy: "delete-insert" | "upsert" | null;
}

/** A request template: strings may hold placeholders; secrets stay references until sent. */
export type RequestValue = null | Scalar | SecretRef | readonly RequestValue[] | { readonly [key: string]: RequestValue };

export type PlannedStep =
  | { readonly filter: Condition }
  | {
      readonly map:
        | { readonly module: string; readonly export: string }
        | { readonly drop?: readonly string[]; readonly rename?: Readonly<Record<string, string>>; readonly set?: Readonly<Record<string, unknown>> };
    };

export interface PlannedResource {
  readonly name: string;
  /** Index in the file's `resources`, for TOML paths in messages. */
  readonly index: number;
  /** The load unit (root resource name) this resource belongs to. */
  readonly unit: string;
  readonly parent: string | null;
  /** Normalised table name; null when `selected = false` (extracted for children only). */
  readonly table: string | null;
  readonly selected: boolean;
  readonly method: "GET" | "POST";
  /** Path template, legacy `{param}` resolve placeholders rewritten as `{resources.<parent>.<field>}`. */
  readonly path: string;
  readonly params: Readonly<Record<string, RequestValue>>;
  readonly json: RequestValue;
  readonly data: RequestValue;
  readonly headers: Readonly<Record<string, RequestValue>>;
  readonly auth: Auth | null;
  readonly paginator: PlannedPaginator;
  readonly paginator_level: PaginatorLevel;
  /** JSONPath, or null to detect it from the first response. */
  readonly data_selector: string | null;
  readonly response_actions: readonly { readonly status_code: readonly number[] | null; readonly content: string | null; readonly action: "ignore" }[];
  readonly incremental: PlannedIncremental | null;
  readonly write_disposition: PlannedWriteDisposition;
  readonly primary_key: readonly string[];
  readonly merge_key: readonly string[];
  readonly include_from_parent: readonly string[];
  readonly columns: Readonly<Record<string, ColumnHint>>;
  readonly max_table_nesting: number | null;
  readonly processing_steps: readonly PlannedStep[];
  readonly schema_contract: { readonly tables: string; readonly columns: string; readonly data_type: string };
}

export interface LoadUnit {
  /** The root resource's name. */
  readonly name: string;
  /** The root first, then its dependents, parents before children. */
  readonly resources: readonly string[];
  readonly tables: readonly string[];
}

export interface Plan {
  readonly pipeline: string;
  readonly pipeline_file: string;
  /** Absolute path of the DuckDB file. */
  readonly database: string;
  readonly dataset: string;
  readonly system_prefix: string;
  readonly max_concurrency: number;
  readonly duckdb_memory_limit: string;
  readonly secrets_section: string | null;
  readonly client: {
    readonly base_url: string | SecretRef | null;
    readonly headers: Readonly<Record<string, RequestValue>>;
    readonly auth: Auth | null;
  } & Omit<ClientConfig, "base_url" | "headers" | "auth" | "paginator">;
  /** Parents before children. */
  readonly resources: readonly PlannedResource[];
  readonly units: readonly LoadUnit[];
  /** Things that work but are probably not what the user meant; printed, never fatal. */
  readonly warnings: readonly string[];
}
