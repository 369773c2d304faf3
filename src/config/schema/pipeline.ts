// `[pipeline]` (names, database, limits) and `[client]` (base URL, auth, HTTP policy).
import * as v from "valibot";
import { AuthSchema } from "./auth.ts";
import { nonEmptyText, positiveNumber, nonNegativeNumber, secretText, table, text, wholeNumber } from "./_kit.ts";
import { PaginatorSchema } from "./paginator.ts";
import { describe } from "../references.ts";
import { durationSeconds } from "../../util/duration.ts";

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

/**
 * Seconds between a unit's checkpoints: a number of seconds or a duration ("30s", "5m"); 0 commits
 * each unit once, at its end. Resolved to seconds here, once.
 */
const checkpointInterval = v.pipe(
  v.union([nonNegativeNumber, text], (issue) => `expected seconds or a duration such as "30s" or "5m", found ${describe(issue.input)}`),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const value = dataset.value;
    const seconds = typeof value === "number" ? value : durationSeconds(value, "s");
    if (seconds === undefined) {
      addIssue({ message: `expected seconds or a duration such as "30s" or "5m", found ${describe(value)}` });
      return NEVER;
    }
    return seconds;
  }),
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
  checkpoint_interval: v.optional(checkpointInterval, "60s"),
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
  timeout: v.optional(positiveNumber, 60),
  max_attempts: v.optional(wholeNumber(1), 5),
  backoff_factor: v.optional(nonNegativeNumber, 1),
  max_retry_delay: v.optional(nonNegativeNumber, 300),
  requests_per_second: v.optional(positiveNumber),
  max_connections_per_host: v.optional(wholeNumber(1)),
  max_response_bytes: v.optional(wholeNumber(1), 256 * 1024 * 1024),
  allowed_origins: v.optional(v.array(origin), []),
  ca_certificates: v.optional(nonEmptyText),
});
export type ClientConfig = v.InferOutput<typeof ClientSchema>;
