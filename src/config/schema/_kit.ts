// Building blocks shared by the section schemas: strict tables with "did you mean", typed scalars.
import * as v from "valibot";
import { closest } from "../../util/closest.ts";
import { SecretRef, describe, isTable } from "../references.ts";

type Entries = v.ObjectEntries;

/**
 * A TOML table that accepts only `entries`; an unknown key gets an error naming the closest valid
 * key. Messages here never start with "Invalid", which tells the formatter they are final.
 */
export function table<const E extends Entries>(entries: E) {
  const keys = Object.keys(entries);
  return v.strictObject(entries, (issue) => {
    if (issue.input === undefined && issue.path !== undefined) return "required key is missing";
    if (issue.expected === "never") {
      const key = String(issue.input);
      const suggestion = closest(key, keys);
      return `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; valid keys here: ${keys.join(", ")}`;
    }
    return `expected a table, found ${describe(issue.input)}`;
  });
}

/** One of fixed strings, with a suggestion for a near miss. */
export function oneOf<const T extends readonly [string, ...string[]]>(options: T, what = "one of") {
  return v.picklist(options, (issue) => {
    const found = issue.input;
    const suggestion = typeof found === "string" ? closest(found, options) : undefined;
    return `expected ${what} ${options.map((o) => JSON.stringify(o)).join(", ")}, found ${describe(found)}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
  });
}

export const text = v.string((issue) => `expected a string, found ${describe(issue.input)}`);
export const nonEmptyText = v.pipe(text, v.minLength(1, "expected a non-empty string"));
/**
 * A JSONPath into a response (`data_selector`, cursor and paginator paths). Filter and script
 * expressions (`[?(@.state == 'open')]`, `[(@.length-1)]`) are refused here: responses are never
 * evaluated as code, so they could only fail at run time.
 */
export const jsonPath = v.pipe(
  text,
  v.check(
    (path) => !/\?\(|\(@/.test(path),
    "expected a JSONPath without filter or script expressions (restload never evaluates them); select the list with a plain path and keep records with a processing step: processing_steps = [{ filter = { field = …, op = …, value = … } }]",
  ),
);
export const bool = v.boolean((issue) => `expected true or false, found ${describe(issue.input)}`);

/** A string, or `{ secret = "NAME" }`: anything that may carry a credential. */
export const secretText = v.union(
  [v.string(), v.instance(SecretRef)],
  (issue) => `expected a string or { secret = "NAME" }, found ${describe(issue.input)}`,
);

const number = v.number((issue) => `expected a number, found ${describe(issue.input)}`);

export const wholeNumber = (min: number) =>
  v.pipe(
    number,
    v.integer((issue) => `expected a whole number, found ${describe(issue.input)}`),
    v.minValue(min, (issue) => `expected a whole number of at least ${min}, found ${describe(issue.input)}`),
  );

export const positiveNumber = v.pipe(
  number,
  v.gtValue(0, (issue) => `expected a number above 0, found ${describe(issue.input)}`),
);

export const textList = v.array(text, (issue) => `expected an array of strings, found ${describe(issue.input)}`);

/** A field name or a list of them (`primary_key = "id"` or `["org", "id"]`), always a list after parsing. */
export const keyList = v.pipe(
  v.union([v.string(), v.array(v.string())], (issue) => `expected a field name or an array of field names, found ${describe(issue.input)}`),
  v.transform((value) => (typeof value === "string" ? [value] : value)),
);

/** A scalar a request or a cursor can carry: string, number (exact bigint too) or boolean. */
export const scalar = v.union(
  [v.string(), v.number(), v.bigint(), v.boolean()],
  (issue) => `expected a string, number or boolean, found ${describe(issue.input)}`,
);

/**
 * An optional key that resolves to null when absent, so later stages see every key of a table and
 * never meet undefined. TOML has no null, so accepting it as input adds no form a file can write.
 */
export const orNull = <S extends v.GenericSchema>(schema: S) => v.optional(v.nullable(schema), null);

/** Any TOML value (tables and arrays included); secrets stay references. */
export const anyValue = v.unknown();

/** `{ module = "./steps.ts", export = "redact" }`: a function of the user's own file. */
export const hook = table({ module: nonEmptyText, export: nonEmptyText });

/** Picks the schema by the input's shape, so errors speak of the form the user meant. */
export function byShape<S extends v.GenericSchema, T extends v.GenericSchema>(forString: S, forTable: T, expected: string) {
  const fallback = v.custom<never>(
    () => false,
    (issue) => `expected ${expected}, found ${describe(issue.input)}`,
  );
  return v.lazy((input) => (typeof input === "string" ? forString : isTable(input) ? forTable : fallback)) as v.LazySchema<
    S | T | typeof fallback
  >;
}

/** True for a TOML table that has `key`. */
export function has(input: unknown, key: string): boolean {
  return isTable(input) && key in input;
}
