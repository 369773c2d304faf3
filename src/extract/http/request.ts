// One HTTP request as the client sends it, and how it is shown in messages.
import type { Redactor } from "../../config/redact.ts";

export interface HttpRequest {
  readonly method: "GET" | "POST";
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** Serialized body; JSON unless `contentType` says otherwise. */
  readonly body?: string | undefined;
  /** The body's Content-Type when the headers name none: undefined means JSON, null means none. */
  readonly contentType?: string | null | undefined;
}

/** A copy with other parts; headers are copied, never shared between requests. */
export function withRequest(request: HttpRequest, changes: Partial<HttpRequest>): HttpRequest {
  return { ...request, headers: { ...request.headers }, ...changes };
}

/** `GET https://api.example.com/items?api_key=***`: secrets masked, for errors and logs. */
export function describeRequest(request: HttpRequest, redactor: Redactor): string {
  const url = redactUrl(request.url, redactor);
  // A URL an API grew page after page (a cursor in the query) can run to kilobytes.
  const shown = url.length > 500 ? `${url.slice(0, 500)}… (${url.length - 500} more characters)` : url;
  return `${request.method} ${shown}`;
}

export function redactUrl(url: URL, redactor: Redactor): string {
  const copy = new URL(url);
  if (copy.username) copy.username = "***";
  if (copy.password) copy.password = "***";
  return redactor.redact(copy.toString());
}
