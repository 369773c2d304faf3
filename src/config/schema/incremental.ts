// Incremental cursors: `endpoint.incremental` and the legacy `{ type = "incremental", … }` param.
import * as v from "valibot";
import { durationSeconds, durationUnits } from "../../util/duration.ts";
import { describe } from "../references.ts";
import { byShape, hook, jsonPath, oneOf, orNull, scalar, table, text } from "./_kit.ts";

export const conversions = ["epoch_seconds", "epoch_millis", "date", "iso"] as const;

const convert = byShape(oneOf(conversions, "a conversion:"), hook, 'a conversion name such as "epoch_seconds", or { module, export }');

const windowExpected = `expected a duration such as "1h", "1d" or "7d" (units ${durationUnits.join(", ")}) for a timestamp or date cursor, or a number above 0 for a numeric one`;

/** Seconds of a duration `window` ("7d" -> 604800); undefined for a number or text that is no duration. */
export function windowSeconds(window: string | number | bigint): number | undefined {
  return typeof window === "string" ? durationSeconds(window) : undefined;
}

/** `window = "7d"` or `window = 1000`: the slice size; whether it fits the cursor's type is checked with the plan. */
const window = v.pipe(
  v.union([v.string(), v.number(), v.bigint()], (issue) => `${windowExpected}, found ${describe(issue.input)}`),
  v.check(
    (value) => (typeof value === "string" ? (windowSeconds(value) ?? 0) > 0 : Number(value) > 0),
    (issue) => `${windowExpected}, found ${describe(issue.input)}`,
  ),
);

/**
 * `lag` counts in the cursor's own units, as dlt's: seconds for a timestamp, days for a date, units
 * for a number. A duration would mean seconds for one cursor and days for another, so none is taken.
 */
const lag = v.pipe(
  v.number(
    (issue) =>
      `expected a number in the cursor's units (seconds for a timestamp cursor, days for a date cursor, units for a numeric one), found ${describe(issue.input)}`,
  ),
  v.minValue(0, (issue) => `expected a lag of at least 0, found ${describe(issue.input)}`),
);

// Defaults as dlt's Incremental: max, raise on a missing cursor, the range [start, end).
const common = {
  cursor_path: jsonPath,
  initial_value: orNull(scalar),
  end_value: orNull(scalar),
  end_param: orNull(text),
  last_value_func: v.optional(oneOf(["max", "min"]), "max"),
  row_order: orNull(oneOf(["asc", "desc"])),
  lag: orNull(lag),
  on_cursor_value_missing: v.optional(oneOf(["raise", "include", "exclude"]), "raise"),
  range_start: v.optional(oneOf(["closed", "open"]), "closed"),
  range_end: v.optional(oneOf(["open", "closed"]), "open"),
  convert: orNull(convert),
  window: orNull(window),
};

/** A backfill window has a start and an end: end_value alone is an error at end_value. */
function endNeedsStart<T extends { initial_value: unknown; end_value: unknown }>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.value.end_value === null || dataset.value.initial_value !== null) return;
    addIssue({
      message: "end_value needs initial_value: a backfill window has a start and an end",
      path: [{ type: "object", origin: "value", input: dataset.value, key: "end_value", value: dataset.value.end_value }],
    });
  });
}

const incrementalTable = table({ ...common, start_param: orNull(text) });
const incrementalParamTable = table({ type: v.literal("incremental"), ...common });

/** `endpoint.incremental = { cursor_path, initial_value, start_param, … }` */
export const IncrementalSchema = v.pipe(incrementalTable, endNeedsStart<v.InferOutput<typeof incrementalTable>>());
/** An incremental cursor as resolved: every key, dlt's default (or null) where the file sets none. */
export type IncrementalConfig = v.InferOutput<typeof IncrementalSchema>;

/** `params.since = { type = "incremental", cursor_path, initial_value, … }`: the param is the start param. */
export const IncrementalParamSchema = v.pipe(incrementalParamTable, endNeedsStart<v.InferOutput<typeof incrementalParamTable>>());
export type IncrementalParam = v.InferOutput<typeof IncrementalParamSchema>;

/** `params.issue_number = { type = "resolve", resource, field }` */
export const ResolveParamSchema = table({ type: v.literal("resolve"), resource: text, field: text });
export type ResolveParam = v.InferOutput<typeof ResolveParamSchema>;
