// `paginator`: a type name (`"header_link"`) or a table with `type` and its parameters (dlt's names).
import * as v from "valibot";
import { bool, byShape, oneOf, table, text, wholeNumber } from "./_kit.ts";
import { isTable } from "../references.ts";

export const paginatorTypes = [
  "json_link",
  "header_link",
  "header_cursor",
  "cursor",
  "offset",
  "page_number",
  "single_page",
  "auto",
] as const;
export type PaginatorType = (typeof paginatorTypes)[number];

/** `total_path = false` says the API sends no total. */
const totalPath = v.union([v.string(), v.literal(false)], (issue) => `expected a JSONPath string, or false for no total, found ${String(issue.input)}`);

const byType = {
  json_link: table({ type: v.literal("json_link"), next_url_path: v.optional(text) }),
  header_link: table({ type: v.literal("header_link"), links_next_key: v.optional(text) }),
  header_cursor: table({ type: v.literal("header_cursor"), cursor_key: v.optional(text), cursor_param: v.optional(text) }),
  cursor: table({
    type: v.literal("cursor"),
    cursor_path: v.optional(text),
    cursor_param: v.optional(text),
    cursor_body_path: v.optional(text),
    stop_after_empty_page: v.optional(bool),
    has_more_path: v.optional(text),
  }),
  offset: table({
    type: v.literal("offset"),
    limit: wholeNumber(1),
    offset: v.optional(wholeNumber(0)),
    offset_param: v.optional(text),
    offset_body_path: v.optional(text),
    limit_param: v.optional(text),
    limit_body_path: v.optional(text),
    total_path: v.optional(totalPath),
    maximum_offset: v.optional(wholeNumber(0)),
    stop_after_empty_page: v.optional(bool),
    has_more_path: v.optional(text),
  }),
  page_number: table({
    type: v.literal("page_number"),
    base_page: v.optional(wholeNumber(0)),
    page: v.optional(wholeNumber(0)),
    page_param: v.optional(text),
    page_body_path: v.optional(text),
    total_path: v.optional(totalPath),
    maximum_page: v.optional(wholeNumber(0)),
    stop_after_empty_page: v.optional(bool),
    has_more_path: v.optional(text),
  }),
  single_page: table({ type: v.literal("single_page") }),
  auto: table({ type: v.literal("auto") }),
} as const;

type TableForm = (typeof byType)[PaginatorType];

// The string form stands for the type with default parameters; offset needs a limit, so it has none.
const stringTypes = paginatorTypes.filter((type) => type !== "offset") as unknown as readonly [string, ...string[]];
const stringForm = v.pipe(
  v.string(),
  v.check((type) => type !== "offset", 'the offset paginator needs a limit: write { type = "offset", limit = 100 }'),
  oneOf(stringTypes, "a paginator type:"),
  v.transform((type) => ({ type }) as v.InferOutput<TableForm>),
);

const typeField = table({ type: oneOf(paginatorTypes, "a paginator type:") });
const tableForm = v.lazy((input) => {
  const type = isTable(input) ? input.type : undefined;
  return typeof type === "string" && type in byType ? byType[type as PaginatorType] : v.looseObject({ type: typeField.entries.type });
}) as v.LazySchema<TableForm>;

export const PaginatorSchema = byShape(stringForm, tableForm, 'a paginator: a type name such as "header_link", or a table with type');
export type PaginatorConfig = v.InferOutput<TableForm>;
