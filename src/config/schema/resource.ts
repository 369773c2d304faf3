// `[[resources]]` and `[resource_defaults]`: what to extract and how its table is written.
import * as v from "valibot";
import { bool, byShape, keyList, nonEmptyText, oneOf, table, textList, wholeNumber } from "./_kit.ts";
import { EndpointSchema } from "./endpoint.ts";
import { StepSchema } from "./steps.ts";
import { describe, isTable } from "../references.ts";

export const dataTypes = ["text", "bigint", "double", "bool", "timestamp", "date", "decimal", "json"] as const;
export const contractModes = ["evolve", "freeze", "discard_row", "discard_value"] as const;

const ColumnSchema = table({
  data_type: v.optional(oneOf(dataTypes, "a data type:")),
  nullable: v.optional(bool),
  precision: v.optional(wholeNumber(1)),
  scale: v.optional(wholeNumber(0)),
});

export type ColumnHint = v.InferOutput<typeof ColumnSchema>;

const dispositions = ["append", "replace", "merge"] as const;
const WriteDispositionSchema = byShape(
  v.pipe(oneOf(dispositions, "a write disposition:"), v.transform((disposition) => ({ disposition }))),
  table({ disposition: oneOf(dispositions, "a write disposition:"), strategy: v.optional(oneOf(["delete-insert", "upsert"], "a merge strategy:")) }),
  'a write disposition: "append", "replace", "merge", or { disposition = "merge", strategy = "upsert" }',
);
export type WriteDispositionConfig = v.InferOutput<typeof WriteDispositionSchema>;

const mode = oneOf(contractModes, "a contract mode:");
const SchemaContractSchema = byShape(
  v.pipe(mode, v.transform((all) => ({ tables: all, columns: all, data_type: all }))),
  table({ tables: v.optional(mode), columns: v.optional(mode), data_type: v.optional(mode) }),
  'a contract mode such as "freeze", or a table of tables, columns, data_type',
);

const resourceEntries = {
  endpoint: v.optional(EndpointSchema),
  primary_key: v.optional(keyList),
  merge_key: v.optional(keyList),
  write_disposition: v.optional(WriteDispositionSchema),
  include_from_parent: v.optional(textList),
  selected: v.optional(bool),
  table_name: v.optional(nonEmptyText),
  columns: v.optional(v.record(v.string(), ColumnSchema)),
  max_table_nesting: v.optional(wholeNumber(0)),
  processing_steps: v.optional(v.array(StepSchema)),
  schema_contract: v.optional(SchemaContractSchema),
  parallelized: v.optional(bool),
};

export const ResourceDefaultsSchema = table(resourceEntries);
export type ResourceDefaults = v.InferOutput<typeof ResourceDefaultsSchema>;

const ResourceTableSchema = table({
  name: v.pipe(nonEmptyText, v.regex(/^[^.{}\s]+$/, "expected a resource name without dots, braces or spaces")),
  ...resourceEntries,
});
export type ResourceConfig = v.InferOutput<typeof ResourceTableSchema>;

/** `resources = ["users"]` is `[[resources]] name = "users"` with path "users". */
export const ResourceSchema = v.lazy((input) => {
  if (typeof input === "string") return v.pipe(ResourceTableSchema.entries.name, v.transform((name): ResourceConfig => ({ name, endpoint: { path: name } })));
  if (isTable(input)) return ResourceTableSchema;
  return v.custom<never>(() => false, () => `expected a resource name or a resource table, found ${describe(input)}`);
}) as v.GenericSchema<unknown, ResourceConfig>;
