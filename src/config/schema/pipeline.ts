// `[pipeline]` (names, database, limits) and `[client]` (base URL, auth, HTTP policy).
import * as v from "valibot";
import { AuthSchema } from "./auth.ts";
import { nonEmptyText, positiveNumber, secretText, table, text, wholeNumber } from "./_kit.ts";
import { seconds } from "./_seconds.ts";
import { PaginatorSchema } from "./paginator.ts";
import { describe } from "../references.ts";

const identifier = v.pipe(
  nonEmptyText,
  v.regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    (issue) => `expected letters, digits and _ (not starting with a digit), found ${describe(issue.input)}`,
  ),
);

const destination = v.custom<"duckdb">(
  (input) => input === "duckdb",
  (issue) =>
    `restload loads DuckDB only, found ${describe(issue.input)}; remove destination or set it to "duckdb", and set pipeline.database to the DuckDB file`,
);

const memorySize = v.pipe(
  text,
  v.regex(
    /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i,
    (issue) => `expected a size such as "256MB" or "1GiB", found ${describe(issue.input)}`,
  ),
);

/** Schemas every DuckDB database has already, which a dataset cannot become. */
const dataset = v.pipe(
  identifier,
  v.check(
    (name) => !["pg_catalog", "information_schema"].includes(name.toLowerCase()),
    (issue) => `${describe(issue.input)} is one of DuckDB's built-in schemas; choose another dataset name`,
  ),
);

/** `duckdb_memory_limit` when a pipeline sets none, and the limit of commands run without a pipeline (`sql`). */
export const defaultDuckdbMemoryLimit = "128MB";

export const PipelineSectionSchema = table({
  name: identifier,
  dataset: v.optional(dataset),
  database: v.optional(nonEmptyText),
  destination: v.optional(destination),
  max_concurrency: v.optional(wholeNumber(1), 8),
  max_table_nesting: v.optional(wholeNumber(0)),
  system_prefix: v.optional(
    v.pipe(text, v.regex(/^[a-z_][a-z0-9_]*$/, 'expected lower-case letters, digits and _, e.g. "_rl_" or "_dlt_"')),
    "_rl_",
  ),
  secrets_section: v.optional(nonEmptyText),
  duckdb_memory_limit: v.optional(memorySize, defaultDuckdbMemoryLimit),
  // Between a unit's checkpoints; 0 commits each unit once, at its end.
  checkpoint_interval: v.optional(seconds("at least 0"), 60),
});
export type PipelineSection = v.InferOutput<typeof PipelineSectionSchema>;

const origin = v.pipe(
  text,
  v.check(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value.replace(/\/$/, "");
      } catch {
        return false;
      }
    },
    (issue) =>
      `expected an origin such as "https://api.example.com" (scheme, host, optional port; no path), found ${describe(issue.input)}`,
  ),
  v.transform((value) => new URL(value).origin),
);

export const ClientSchema = table({
  base_url: v.optional(secretText),
  headers: v.optional(v.record(v.string(), secretText)),
  auth: v.optional(AuthSchema),
  paginator: v.optional(PaginatorSchema),
  timeout: v.optional(seconds("above 0"), 60),
  max_attempts: v.optional(wholeNumber(1), 5),
  // The base of the exponential backoff (full jitter), in seconds as dlt's factor, so also a duration.
  backoff_factor: v.optional(seconds("at least 0"), 1),
  max_retry_delay: v.optional(seconds("at least 0"), 300),
  requests_per_second: v.optional(positiveNumber),
  max_connections_per_host: v.optional(wholeNumber(1)),
  max_response_bytes: v.optional(wholeNumber(1), 256 * 1024 * 1024),
  allowed_origins: v.optional(v.array(origin), []),
  ca_certificates: v.optional(nonEmptyText),
});
export type ClientConfig = v.InferOutput<typeof ClientSchema>;
