// `[[resources]]` and `[resource_defaults]`: what to extract and how its table is written.
import * as v from "valibot";
import { bool, byShape, keyList, nonEmptyText, oneOf, table, textList, wholeNumber } from "./_kit.ts";
import { EndpointSchema } from "./endpoint.ts";
import { moduleResourceCheck, moduleResourceEntries } from "./module-resource.ts";
import { StepSchema } from "./steps.ts";
import { describe, isTable } from "../references.ts";

export const dataTypes = ["text", "bigint", "double", "bool", "timestamp", "date", "decimal", "json"] as const;
export const contractModes = ["evolve", "freeze", "discard_row", "discard_value"] as const;

/** A decimal column's size when it sets none: DuckDB's widest precision; the scale is at most the precision. */
export const defaultDecimal = { precision: 38, scale: 9 } as const;
const maxPrecision = defaultDecimal.precision;

const ColumnSchema = v.pipe(
  table({
    data_type: v.optional(oneOf(dataTypes, "a data type:")),
    nullable: v.optional(bool, true),
    precision: v.optional(wholeNumber(1)),
    scale: v.optional(wholeNumber(0)),
  }),
  // precision and scale size a DECIMAL column only; on any other type they would change nothing.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const column = dataset.value;
    const at = (key: "precision" | "scale", message: string) =>
      addIssue({ message, path: [{ type: "object", origin: "value", input: column, key, value: column[key] }] });
    for (const key of ["precision", "scale"] as const) {
      if (column[key] !== undefined && column.data_type !== "decimal") {
        at(
          key,
          `${key} applies only to data_type = "decimal", found data_type ${column.data_type === undefined ? "not set" : JSON.stringify(column.data_type)}; set data_type = "decimal" or remove ${key}`,
        );
      }
    }
    if (column.data_type !== "decimal") return;
    if (column.precision !== undefined && column.precision > maxPrecision)
      at("precision", `expected a precision of at most ${maxPrecision} (DuckDB's widest DECIMAL), found ${column.precision}`);
    const precision = column.precision ?? maxPrecision;
    if (column.scale !== undefined && column.scale > precision)
      at("scale", `expected a scale of at most the precision (${precision}), found ${column.scale}`);
  }),
  // A decimal without its size is DECIMAL(38, 9); a scale left out never exceeds the precision
  // given (DuckDB refuses DECIMAL(5, 9)).
  v.transform((column) =>
    column.data_type === "decimal"
      ? {
          ...column,
          precision: column.precision ?? maxPrecision,
          scale: column.scale ?? Math.min(defaultDecimal.scale, column.precision ?? maxPrecision),
        }
      : column,
  ),
);

/** A column hint as resolved: `nullable` defaults to true; no data_type means the type is inferred from the data. */
export type ColumnHint = v.InferOutput<typeof ColumnSchema>;

const dispositions = ["append", "replace", "merge"] as const;
const strategies = ["delete-insert", "upsert", "scd2"] as const;

/** Resolved: `{ disposition, strategy }`, strategy "delete-insert" for merge by default and null otherwise. */
const WriteDispositionSchema = byShape(
  v.pipe(
    oneOf(dispositions, "a write disposition:"),
    v.transform((disposition) => ({ disposition, strategy: disposition === "merge" ? ("delete-insert" as const) : null })),
  ),
  v.pipe(
    table({ disposition: oneOf(dispositions, "a write disposition:"), strategy: v.optional(oneOf(strategies, "a merge strategy:")) }),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed || dataset.value.strategy === undefined) return;
      const { disposition, strategy } = dataset.value;
      if (disposition !== "merge")
        addIssue({
          message: `strategy applies only to disposition = "merge", found disposition = ${JSON.stringify(disposition)}; remove strategy`,
          path: [{ type: "object", origin: "value", input: dataset.value, key: "strategy", value: strategy }],
        });
    }),
    v.transform(({ disposition, strategy }) => ({
      disposition,
      strategy: disposition === "merge" ? (strategy ?? ("delete-insert" as const)) : null,
    })),
  ),
  'a write disposition: "append", "replace", "merge", or { disposition = "merge", strategy = "delete-insert" | "upsert" | "scd2" }',
);
export type WriteDisposition = v.InferOutput<typeof WriteDispositionSchema>;

/** Default when a resource sets no write_disposition: append, as dlt. */
export const defaultWriteDisposition: WriteDisposition = { disposition: "append", strategy: null };

const mode = v.optional(oneOf(contractModes, "a contract mode:"), "evolve");
const SchemaContractSchema = byShape(
  v.pipe(
    oneOf(contractModes, "a contract mode:"),
    v.transform((all) => ({ tables: all, columns: all, data_type: all })),
  ),
  table({ tables: mode, columns: mode, data_type: mode }),
  'a contract mode such as "freeze", or a table of tables, columns, data_type',
);
/** A schema contract as resolved: a mode for each of tables, columns and data_type. */
export type SchemaContract = v.InferOutput<typeof SchemaContractSchema>;

/** Default when a resource sets no schema_contract: everything evolves, as dlt. */
export const defaultSchemaContract: SchemaContract = { tables: "evolve", columns: "evolve", data_type: "evolve" };

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

const ResourceNameSchema = v.pipe(nonEmptyText, v.regex(/^[^.{}\s]+$/, "expected a resource name without dots, braces or spaces"));

const ResourceEntriesSchema = table({ name: ResourceNameSchema, ...resourceEntries, ...moduleResourceEntries });
const ResourceTableSchema = v.pipe(ResourceEntriesSchema, moduleResourceCheck<v.InferOutput<typeof ResourceEntriesSchema>>());
export type ResourceConfig = v.InferOutput<typeof ResourceTableSchema>;

/** `resources = ["users"]` is `[[resources]] name = "users"` with path "users". */
export const ResourceSchema = v.lazy((input) => {
  if (typeof input === "string")
    return v.pipe(
      ResourceNameSchema,
      v.transform((name): ResourceConfig => ({ name, endpoint: { path: name } })),
    );
  if (isTable(input)) return ResourceTableSchema;
  return v.custom<never>(
    () => false,
    () => `expected a resource name or a resource table, found ${describe(input)}`,
  );
}) as v.GenericSchema<unknown, ResourceConfig>;
