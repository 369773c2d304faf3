// Planned resource + placeholder values + secrets -> the first request of a chain.
import { SecretRef, isTable } from "../config/references.ts";
import { RestloadError } from "../errors.ts";
import type { PlannedResource, RequestValue } from "../plan/index.ts";
import { type Placeholder, parseTemplate, renderTemplate } from "../plan/template.ts";
import { toJson } from "../util/json.ts";
import type { RequestState } from "./paginate/index.ts";

export interface BuildContext {
  /** `client.base_url`, secrets resolved; undefined when every path is absolute. */
  readonly baseUrl: string | undefined;
  readonly clientHeaders: Readonly<Record<string, RequestValue>>;
  readonly secret: (ref: SecretRef) => string;
  /** The value of a placeholder (a parent field, an incremental value). */
  readonly valueOf: (placeholder: Placeholder) => unknown;
  /** Extra query parameters (incremental start and end params). */
  readonly extraParams?: Readonly<Record<string, unknown>>;
}

/** The first request of `resource`'s chain, placeholders rendered and secrets filled in. */
export function buildFirstRequest(resource: PlannedResource, context: BuildContext): RequestState {
  const url = resolveUrl(resource, context);
  for (const [name, value] of Object.entries({ ...resource.params, ...context.extraParams })) {
    appendParam(url.searchParams, name, render(value as RequestValue, context));
  }
  const headers = clientHeaders(context.clientHeaders, context.secret);
  for (const [name, value] of Object.entries(resource.headers)) setHeader(headers, name, render(value, context));
  const json = resource.json === null ? undefined : render(resource.json, context);
  let data: string | undefined;
  if (isTable(resource.data)) {
    data = formEncode(render(resource.data, context));
    // As requests: a table is form-encoded and says so, unless the headers name a Content-Type.
    headers["content-type"] ??= "application/x-www-form-urlencoded";
  } else if (resource.data !== null) {
    // A string is sent raw with no Content-Type of its own (requests sets none for a str body).
    data = renderText(resource.data, context);
  }
  return { method: resource.method, url, headers, json, data };
}

/** `base_url` joined with a relative path the way dlt does: the path is appended to the base's path. */
export function joinUrl(base: string, path: string): URL {
  const normalizedBase = base.endsWith("/") ? base : `${base}/`;
  return new URL(path.replace(/^\/+/, ""), normalizedBase);
}

/**
 * `client.headers` as every request sends them (an endpoint's chain and a module's `ctx.fetch`):
 * names lower-cased, a secret filled in, braces literal (dlt formats only the endpoint's headers).
 *
 * @example
 * clientHeaders({ "X-Api-Key": keyRef, Accept: "text/csv" }, secret) // { "x-api-key": "<the secret>", accept: "text/csv" }
 */
export function clientHeaders(headers: Readonly<Record<string, RequestValue>>, secret: (ref: SecretRef) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) setHeader(out, name, value instanceof SecretRef ? secret(value) : value);
  return out;
}

// internal

function resolveUrl(resource: PlannedResource, context: BuildContext): URL {
  const parts = parseTemplate(resource.path);
  // A path that is one placeholder (a URL from parent data) is used as it is; pieces of a path are
  // percent-encoded so a value cannot change the path's structure.
  const path =
    parts.length === 1 && typeof parts[0] !== "string"
      ? String(context.valueOf(parts[0]!))
      : parts.map((part) => (typeof part === "string" ? part : encodeURIComponent(String(context.valueOf(part))))).join("");
  if (/^https?:\/\//i.test(path)) return new URL(path);
  if (context.baseUrl === undefined) {
    // `check` refuses a relative path without base_url; here the path came from parent data.
    throw new RestloadError(
      "E_DATA",
      `Cannot build the URL of resource "${resource.name}" as its path "${path}" (from parent data) is relative and client.base_url is not set`,
      {
        hint: "Set client.base_url, or make the parent field hold absolute URLs.",
        context: { resource: resource.name },
      },
    );
  }
  return joinUrl(context.baseUrl, path);
}

/** A template rendered to text: a lone placeholder gives its value's text, as str.format does. */
function renderText(value: RequestValue, context: BuildContext): string {
  return String(render(value, context));
}

/** A missing value (null) sends no header; a table or list is sent as its JSON text, as in query params. */
function setHeader(headers: Record<string, string>, name: string, value: unknown): void {
  if (value === null || value === undefined) return;
  headers[name.toLowerCase()] = typeof value === "object" ? toJson(value) : String(value);
}

function render(value: RequestValue | unknown, context: BuildContext): unknown {
  if (value instanceof SecretRef) return context.secret(value);
  if (typeof value === "string") return renderTemplate(value, context.valueOf);
  if (Array.isArray(value)) return value.map((item) => render(item, context));
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item, context)]));
  return value;
}

/** Sets `name` (replacing a value the path's own query gave it); an array repeats the name. */
function appendParam(params: URLSearchParams, name: string, value: unknown): void {
  if (value === null || value === undefined) return;
  params.delete(name);
  for (const item of Array.isArray(value) ? value : [value]) {
    if (item !== null && item !== undefined) params.append(name, typeof item === "object" ? JSON.stringify(item) : String(item));
  }
}

function formEncode(value: unknown): string {
  const form = new URLSearchParams();
  if (isTable(value)) for (const [key, item] of Object.entries(value)) appendParam(form, key, item);
  return form.toString();
}
