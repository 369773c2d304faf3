// The one module that sends HTTP (ofetch): no retries, no redirects, no parsing; the body stays a stream.
import { ofetch } from "ofetch";
import type { HttpRequest } from "./request.ts";

export type Transport = (request: HttpRequest, signal: AbortSignal) => Promise<Response>;

export interface TransportOptions {
  /** A fetch to use instead of the global one (runtime-specific TLS or proxy settings). */
  readonly fetch?: typeof fetch;
  readonly userAgent: string;
}

/**
 * Sends one request and returns the response as soon as its headers arrive. Redirects come back
 * as 3xx responses (the client follows them itself, checking each hop's origin); error statuses
 * come back as responses too.
 */
export function createTransport(options: TransportOptions): Transport {
  const $fetch = options.fetch ? ofetch.create({}, { fetch: options.fetch }) : ofetch;
  return async (request, signal) => {
    const headers: Record<string, string> = { "user-agent": options.userAgent, accept: "application/json", ...request.headers };
    // A Content-Type the headers name wins (as in requests); a body given as bytes gets none of
    // fetch's or ofetch's own (they would add text/plain or application/json to a string).
    const named = Object.keys(headers).some((name) => name.toLowerCase() === "content-type");
    if (request.body !== undefined && !named && request.contentType !== null)
      headers["content-type"] = request.contentType ?? "application/json";
    return $fetch.raw(request.url.toString(), {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : new TextEncoder().encode(request.body),
      redirect: "manual",
      retry: false,
      ignoreResponseError: true,
      responseType: "stream",
      signal,
    });
  };
}
