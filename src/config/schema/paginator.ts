// `paginator`: a type name (`"header_link"`) or a table with `type` and its parameters (dlt's names).
import * as v from "valibot";
import { bool, byShape, jsonPath, oneOf, orNull, table, text, wholeNumber } from "./_kit.ts";
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

/** `total_path = false` says the API sends no total; it resolves to null, as does an API without one. */
const totalPath = v.pipe(
  v.optional(
    v.union([v.string(), v.literal(false)], (issue) => `expected a JSONPath string, or false for no total, found ${String(issue.input)}`),
    "total",
  ),
  v.transform((path) => (path === false ? null : path)),
);

/**
 * A counter or cursor goes into a query parameter or a JSON body path, never both: the parameter
 * keeps its default name only while no body path is set.
 */
function oneWay<T extends Record<string, unknown>>(param: keyof T & string, body: keyof T & string) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const value = dataset.value[body];
    if (dataset.value[param] === undefined || value === undefined || value === null) return;
    addIssue({
      message: `${param} and ${body} are both set; a paginator sends its value one way`,
      path: [{ type: "object", origin: "value", input: dataset.value, key: body, value }],
    });
  });
}

const json_link = table({ type: v.literal("json_link"), next_url_path: v.optional(jsonPath, "next") });
const header_link = table({ type: v.literal("header_link"), links_next_key: v.optional(text, "next") });
const header_cursor = table({
  type: v.literal("header_cursor"),
  cursor_key: v.optional(text, "next"),
  cursor_param: v.optional(text, "cursor"),
});
const cursorTable = table({
  type: v.literal("cursor"),
  cursor_path: v.optional(jsonPath, "cursors.next"),
  cursor_param: v.optional(text),
  cursor_body_path: orNull(text),
  stop_after_empty_page: v.optional(bool, false),
  has_more_path: orNull(jsonPath),
});
const cursor = v.pipe(
  cursorTable,
  oneWay<v.InferOutput<typeof cursorTable>>("cursor_param", "cursor_body_path"),
  v.transform(({ cursor_param, ...rest }) => ({
    ...rest,
    cursor_param: rest.cursor_body_path !== null ? null : (cursor_param ?? "cursor"),
  })),
);
const offsetTable = table({
  type: v.literal("offset"),
  limit: wholeNumber(1),
  offset: v.optional(wholeNumber(0), 0),
  offset_param: v.optional(text),
  offset_body_path: orNull(text),
  limit_param: v.optional(text),
  limit_body_path: orNull(text),
  total_path: totalPath,
  maximum_offset: orNull(wholeNumber(0)),
  stop_after_empty_page: v.optional(bool, true),
  has_more_path: orNull(jsonPath),
});
const offset = v.pipe(
  offsetTable,
  oneWay<v.InferOutput<typeof offsetTable>>("offset_param", "offset_body_path"),
  oneWay<v.InferOutput<typeof offsetTable>>("limit_param", "limit_body_path"),
  v.transform(({ offset_param, limit_param, ...rest }) => ({
    ...rest,
    offset_param: rest.offset_body_path !== null ? null : (offset_param ?? "offset"),
    limit_param: rest.limit_body_path !== null ? null : (limit_param ?? "limit"),
  })),
);
const page_numberTable = table({
  type: v.literal("page_number"),
  base_page: v.optional(wholeNumber(0), 0),
  page: v.optional(wholeNumber(0)),
  page_param: v.optional(text),
  page_body_path: orNull(text),
  total_path: totalPath,
  maximum_page: orNull(wholeNumber(0)),
  stop_after_empty_page: v.optional(bool, true),
  has_more_path: orNull(jsonPath),
});
const page_number = v.pipe(
  page_numberTable,
  oneWay<v.InferOutput<typeof page_numberTable>>("page_param", "page_body_path"),
  // The first page is base_page unless `page` says where to start.
  v.transform(({ page, page_param, ...rest }) => ({
    ...rest,
    page: page ?? rest.base_page,
    page_param: rest.page_body_path !== null ? null : (page_param ?? "page"),
  })),
);

/** Each type's table form; its output has every parameter filled in with dlt's default (null where none applies). */
const byType = {
  json_link,
  header_link,
  header_cursor,
  cursor,
  offset,
  page_number,
  single_page: table({ type: v.literal("single_page") }),
  auto: table({ type: v.literal("auto") }),
} as const;

type TableForm = (typeof byType)[PaginatorType];

/** Every type, in the one list messages name: the string form refuses offset below, with its reason. */
const paginatorType = oneOf(paginatorTypes, "a paginator type:");

// The string form stands for the type with default parameters; offset needs a limit, so it has none.
const stringForm = v.pipe(
  v.string(),
  paginatorType,
  v.check((type) => type !== "offset", 'the offset paginator needs a limit: write { type = "offset", limit = 100 }'),
  v.transform((type) => v.parse(byType[type], { type }) as ResolvedPaginator),
);

const typeField = table({ type: paginatorType });
const tableForm = v.lazy((input) => {
  const type = isTable(input) ? input.type : undefined;
  return typeof type === "string" && type in byType ? byType[type as PaginatorType] : v.looseObject({ type: typeField.entries.type });
}) as v.LazySchema<TableForm>;

export const PaginatorSchema = byShape(stringForm, tableForm, 'a paginator: a type name such as "header_link", or a table with type');
/** A paginator as resolved: its type and every parameter, dlt's default where the file sets none. */
export type ResolvedPaginator = v.InferOutput<TableForm>;
