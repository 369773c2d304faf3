// Incremental cursors: `endpoint.incremental` and the legacy `{ type = "incremental", … }` param.
import * as v from "valibot";
import { byShape, hook, nonNegativeNumber, oneOf, scalar, table, text } from "./_kit.ts";

export const conversions = ["epoch_seconds", "epoch_millis", "date", "iso"] as const;

const convert = byShape(oneOf(conversions, "a conversion:"), hook, 'a conversion name such as "epoch_seconds", or { module, export }');

const common = {
  cursor_path: text,
  initial_value: v.optional(scalar),
  end_value: v.optional(scalar),
  end_param: v.optional(text),
  last_value_func: v.optional(oneOf(["max", "min"])),
  row_order: v.optional(oneOf(["asc", "desc"])),
  lag: v.optional(nonNegativeNumber),
  on_cursor_value_missing: v.optional(oneOf(["raise", "include", "exclude"])),
  range_start: v.optional(oneOf(["closed", "open"])),
  range_end: v.optional(oneOf(["open", "closed"])),
  convert: v.optional(convert),
};

/** `endpoint.incremental = { cursor_path, initial_value, start_param, … }` */
export const IncrementalSchema = table({ ...common, start_param: v.optional(text) });
export type IncrementalConfig = v.InferOutput<typeof IncrementalSchema>;

/** `params.since = { type = "incremental", cursor_path, initial_value, … }`: the param is the start param. */
export const IncrementalParamSchema = table({ type: v.literal("incremental"), ...common });
export type IncrementalParam = v.InferOutput<typeof IncrementalParamSchema>;

/** `params.issue_number = { type = "resolve", resource, field }` */
export const ResolveParamSchema = table({ type: v.literal("resolve"), resource: text, field: text });
export type ResolveParam = v.InferOutput<typeof ResolveParamSchema>;
