// `endpoint`: a path string or a table with method, params, json/data, headers, paginator, and more.
import * as v from "valibot";
import { AuthSchema } from "./auth.ts";
import { anyValue, byShape, has, jsonPath, oneOf, secretText, table, text, wholeNumber } from "./_kit.ts";
import { IncrementalParamSchema, IncrementalSchema, ResolveParamSchema } from "./incremental.ts";
import { PaginatorSchema } from "./paginator.ts";
import { SecretRef, describe, isTable } from "../references.ts";

/**
 * A legacy incremental param as written (validated, no defaults applied): resource_defaults' param
 * and the resource's merge key by key, as dlt merges them, before config/resolve.ts applies the
 * defaults (applied first, a default of the resource's would hide a value resource_defaults set).
 */
export type WrittenIncrementalParam = v.InferInput<typeof IncrementalParamSchema>;

/** A query parameter: a value (or list of values), a secret, or a legacy resolve/incremental table. */
const ParamValueSchema = v.lazy((input) => {
  if (isTable(input)) {
    if (input.type === "resolve") return ResolveParamSchema;
    if (input.type === "incremental")
      return v.pipe(
        IncrementalParamSchema,
        v.transform((): WrittenIncrementalParam => input as WrittenIncrementalParam),
      );
    return v.custom<never>(
      () => false,
      () =>
        `expected a value, { secret = "NAME" }, or a table with type = "resolve" or "incremental", found ${describe(input)}${has(input, "type") ? ` with type ${describe(input.type)}` : ""}`,
    );
  }
  return v.union(
    [
      v.string(),
      v.number(),
      v.bigint(),
      v.boolean(),
      v.instance(SecretRef),
      v.array(v.union([v.string(), v.number(), v.bigint(), v.boolean()])),
    ],
    () => `expected a string, number, boolean or an array of them, found ${describe(input)}`,
  );
});

const statusCodes = v.union(
  [wholeNumber(100), v.array(wholeNumber(100))],
  (issue) => `expected an HTTP status code or an array of them, found ${describe(issue.input)}`,
);

export const ResponseActionSchema = v.pipe(
  table({ status_code: v.optional(statusCodes), content: v.optional(text), action: oneOf(["ignore"], "an action:") }),
  v.check(
    (action) => action.status_code !== undefined || action.content !== undefined,
    "a response action needs status_code or content to match",
  ),
  // Resolved: a list of codes (one code is a list of one), null for "any".
  v.transform((action) => ({
    status_code: action.status_code === undefined ? null : [action.status_code].flat(),
    content: action.content ?? null,
    action: action.action,
  })),
);

const method = v.pipe(
  v.string((issue) => `expected "GET" or "POST", found ${describe(issue.input)}`),
  v.toUpperCase(),
  oneOf(["GET", "POST"], "a method:"),
);

export const EndpointTableSchema = table({
  path: v.optional(text),
  method: v.optional(method),
  params: v.optional(v.record(v.string(), ParamValueSchema)),
  json: v.optional(
    v.union([v.record(v.string(), anyValue), v.array(anyValue)], (issue) => `expected a table or an array, found ${describe(issue.input)}`),
  ),
  data: v.optional(
    v.union([v.record(v.string(), anyValue), v.string()], (issue) => `expected a table or a string, found ${describe(issue.input)}`),
  ),
  headers: v.optional(v.record(v.string(), secretText)),
  paginator: v.optional(PaginatorSchema),
  data_selector: v.optional(jsonPath),
  response_actions: v.optional(v.array(ResponseActionSchema)),
  incremental: v.optional(IncrementalSchema),
  auth: v.optional(AuthSchema),
});
export type EndpointTable = v.InferOutput<typeof EndpointTableSchema>;

/** `endpoint = "issues"` is `endpoint = { path = "issues" }`. */
export const EndpointSchema = byShape(
  v.pipe(
    v.string(),
    v.transform((path): EndpointTable => ({ path })),
  ),
  EndpointTableSchema,
  "a path string or an endpoint table",
);
