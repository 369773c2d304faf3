// Module resources: the user's async generator function yields the records; `ctx.fetch` is
// restload's HTTP client (base_url, auth, retries, rate limits, origin rules, size limit).
import type { Redactor } from "../config/redact.ts";
import { RestloadError, messageOf } from "../errors.ts";
import type { PlannedModule, PlannedResource } from "../plan/index.ts";
import type { Clock } from "./clock.ts";
import type { Authenticator } from "./http/auth/index.ts";
import type { FetchResult, HttpClient } from "./http/client.ts";
import { parseJsonExact } from "./http/json.ts";
import { type HttpRequest, redactUrl } from "./http/request.ts";
import type { RequestValues } from "./incremental.ts";
import { joinUrl } from "./request-builder.ts";
import { loadUserFunction } from "./user-module.ts";

/** One yield of a module: a record, or an array of records. */
export interface ModulePage {
  readonly kind: "module";
  /** 1 for the first yield. */
  readonly number: number;
  readonly records: readonly unknown[];
}

/** The second argument of `ctx.fetch`: the parts of fetch's `RequestInit` restload's client sends. */
export interface ModuleFetchInit {
  /** GET (default) or POST. */
  readonly method?: string;
  readonly headers?: HeadersInit;
  /** A string is sent as JSON unless the headers name a Content-Type; URLSearchParams as a form. */
  readonly body?: string | URLSearchParams | null;
}

/** What the module's function is called with. */
export interface ModuleContext {
  readonly resource: string;
  /**
   * A path (relative to base_url) or an absolute URL; a status still failing after retries throws.
   * The body is read as UTF-8 text: `.text()` and `.json()` work, while `.arrayBuffer()`, `.blob()`,
   * `.bytes()` and `.body` throw (E_STEP), as binary bodies are not supported yet. After the run is
   * stopped it still sends for `stopGraceMs`, so a `finally` block can cancel what the module started.
   */
  fetch(input: string | URL, init?: ModuleFetchInit): Promise<Response>;
  /** The range to ask for when the resource has `incremental`; null when it has none. */
  readonly incremental: RequestValues["placeholders"] | null;
  /** The parent record of a child module resource; null for a root. */
  readonly parent: unknown;
  /** An info line in the run's log (secrets masked). */
  log(message: string): void;
  /** Waits `ms` (between polls); rejects when the run is stopped. */
  sleep(ms: number): Promise<void>;
  /** JSON.parse keeping integers beyond 2^53 exact (as bigint), for a body read as text (an NDJSON line). */
  parseJson(text: string): unknown;
  /** Aborted when the run is stopped (SIGTERM, SIGINT) or another chain of the unit failed. */
  readonly signal: AbortSignal;
}

/**
 * How long a stopped module (SIGTERM, another chain's failure) gets to end: its `ctx.fetch`
 * requests still go out for this long (a `finally` block cancelling an export job), and the wait
 * for it to end gives up after this long (a module awaiting something that ignores `ctx.signal`).
 */
export const stopGraceMs = 10_000;

/** What a module resource's requests share with the rest of the extractor. */
export interface ModuleDeps {
  readonly client: HttpClient;
  readonly auth: Authenticator | null;
  /** `client.base_url`, secrets resolved. */
  readonly baseUrl: string | undefined;
  /** `client.headers`, secrets resolved. */
  readonly headers: Readonly<Record<string, string>>;
  readonly redactor: Redactor;
  readonly clock: Clock;
  /** The pipeline file's directory: the module path is relative to it. */
  readonly baseDir: string;
}

export interface ModuleCall {
  readonly maxPages?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly parent?: unknown;
  /** Undefined for a resource without a cursor. */
  readonly incremental: RequestValues | undefined;
  readonly log?: ((message: string) => void) | undefined;
}

type ModuleFunction = (ctx: ModuleContext) => AsyncIterator<unknown>;

/**
 * Calls the module's function and yields each of its yields as a page. Stopped early (max pages,
 * a probe, the incremental range left, a failure downstream), the generator is closed with
 * `return()`, so its `finally` blocks run; after the run is stopped they get `stopGraceMs`.
 */
export async function* modulePages(resource: PlannedResource, call: ModuleCall, deps: ModuleDeps): AsyncGenerator<ModulePage> {
  const module = resource.module!;
  const run = await loadModuleFunction(resource, module, deps.baseDir);
  const signal = call.signal ?? new AbortController().signal;
  const grace = stopGrace(signal);
  const ctx: ModuleContext = Object.freeze({
    resource: resource.name,
    fetch: moduleFetch(resource, deps, grace.fetchSignal),
    incremental: call.incremental ? Object.freeze({ ...call.incremental.placeholders }) : null,
    parent: call.parent ?? null,
    log: (message: string) => call.log?.(deps.redactor.redact(String(message))),
    sleep: (ms: number) => deps.clock.sleep(ms, signal),
    parseJson: (text: string) => parseJsonExact(String(text)),
    signal,
  });
  const iterator = run(ctx);
  let done = false;
  try {
    for (let number = 1; call.maxPages === undefined || number <= call.maxPages; number++) {
      let next: IteratorResult<unknown>;
      try {
        next = await grace.settle(iterator.next());
      } catch (error) {
        // Thrown, or given up on: either way the generator is not to be resumed.
        done = true;
        throw moduleError(error, resource, module, deps.redactor, signal);
      }
      if (next.done) {
        done = true;
        return;
      }
      const value = next.value;
      yield { kind: "module", number, records: Array.isArray(value) ? value : value === undefined || value === null ? [] : [value] };
    }
  } finally {
    // Its finally blocks may clean up (cancel an export job); a failure there changes nothing here.
    if (!done) await grace.settle(Promise.resolve(iterator.return?.(undefined))).catch(() => {});
    grace.end();
  }
}

// internal

async function loadModuleFunction(resource: PlannedResource, module: PlannedModule, baseDir: string): Promise<ModuleFunction> {
  const found = await loadUserFunction<ModuleFunction>(module, `module resource "${resource.name}"`, baseDir, "E_STEP");
  if (Object.prototype.toString.call(found) !== "[object AsyncGeneratorFunction]") {
    throw new RestloadError(
      "E_STEP",
      `Cannot use "${module.export}" of module "${module.module}" for module resource "${resource.name}" as it is not an async generator function`,
      {
        hint: `Export it as \`export async function* ${module.export}(ctx) { … yield records … }\`.`,
        context: { resource: resource.name },
      },
    );
  }
  return found;
}

/**
 * After `signal` aborts: the signal for the module's requests (aborted `stopGraceMs` later, so
 * cleanup requests go out) and a bound on waiting for the module. Before, both are `signal`'s.
 */
function stopGrace(signal: AbortSignal) {
  const grace = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const start = () => {
    timer = setTimeout(() => grace.abort(signal.reason), stopGraceMs);
  };
  if (signal.aborted) start();
  else signal.addEventListener("abort", start, { once: true });
  return {
    fetchSignal: (): AbortSignal => (signal.aborted ? grace.signal : signal),
    /** `step` (a `next()` or `return()` of the module), or the stop's reason once the grace is over and it still runs. */
    settle<T>(step: Promise<T>): Promise<T> {
      if (grace.signal.aborted) return Promise.reject(signal.reason);
      return new Promise<T>((resolve, reject) => {
        const giveUp = () => reject(signal.reason);
        grace.signal.addEventListener("abort", giveUp, { once: true });
        step.then(
          (value) => {
            grace.signal.removeEventListener("abort", giveUp);
            resolve(value);
          },
          (error: unknown) => {
            grace.signal.removeEventListener("abort", giveUp);
            reject(error);
          },
        );
      });
    },
    /** The module has ended (or is given up on): a request it still makes fails at once. */
    end(): void {
      signal.removeEventListener("abort", start);
      clearTimeout(timer);
      grace.abort(signal.reason);
    },
  };
}

/** `ctx.fetch`: one request through restload's client, answered with a standard Response. */
function moduleFetch(resource: PlannedResource, deps: ModuleDeps, signalOf: () => AbortSignal): ModuleContext["fetch"] {
  let requests = 0;
  return async (input, init = {}) => {
    const number = ++requests;
    const request = moduleRequest(resource, input, init, deps);
    const result = await deps.client.fetchJson(request, {
      resource: resource.name,
      what: `request ${number}`,
      via: "a ctx.fetch URL",
      auth: deps.auth,
      responseActions: [],
      signal: signalOf(),
      read: "text",
    });
    return exactResponse(result, resource.name, deps.redactor);
  };
}

function moduleRequest(resource: PlannedResource, input: string | URL, init: ModuleFetchInit, deps: ModuleDeps): HttpRequest {
  const fail = (message: string) =>
    new RestloadError("E_STEP", `Cannot send ctx.fetch of module resource "${resource.name}" as ${message}`, {
      hint: "Fix the call in the module.",
      context: { resource: resource.name },
    });
  const target = String(input);
  let url: URL;
  if (input instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(target)) url = new URL(target);
  else if (deps.baseUrl !== undefined) url = joinUrl(deps.baseUrl, target);
  else throw fail(`the path "${target}" is relative and client.base_url is not set; set base_url or pass an absolute URL`);
  const method = (init.method ?? "GET").toUpperCase();
  if (method !== "GET" && method !== "POST") throw fail(`its method is ${method}; restload's client sends GET and POST`);
  const headers: Record<string, string> = { ...deps.headers };
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body = init.body ?? undefined;
  if (body === undefined) return { method, url, headers };
  if (method === "GET") throw fail('a GET request carries no body; use method: "POST"');
  if (body instanceof URLSearchParams)
    return { method, url, headers, body: body.toString(), contentType: "application/x-www-form-urlencoded" };
  if (typeof body !== "string") throw fail("its body is not a string or URLSearchParams (use JSON.stringify for JSON)");
  return { method, url, headers, body };
}

/**
 * A standard Response of the body read; `.json()` keeps integers beyond 2^53 exact (as bigint).
 * The client read the body as UTF-8 text (decompressed): the bytes of a binary body are lost, so
 * reading it as bytes fails instead of returning corrupted ones.
 */
function exactResponse(result: FetchResult, resource: string, redactor: Redactor): Response {
  // Without response actions every answer is a page.
  if (result.kind !== "page") throw new RestloadError("E_INTERNAL", "ctx.fetch got an ignored response");
  const nullBody = result.status === 204 || result.status === 205;
  // They described the bytes on the wire (compressed, before decoding), not this body.
  const headers = new Headers(result.headers);
  headers.delete("content-encoding");
  headers.delete("content-length");
  const response = new Response(nullBody ? null : (result.body as string), { status: result.status, headers });
  const notBytes = (how: string) =>
    new RestloadError(
      "E_STEP",
      `Cannot read the body of ${redactUrl(result.url, redactor)} with ${how} in module resource "${resource}" as ctx.fetch reads bodies as UTF-8 text: binary bodies are not supported yet`,
      {
        hint: "Read the body with .text() or .json(); a binary body needs the module's own fetch() (without restload's auth, retries and limits).",
        context: { resource, url: redactUrl(result.url, redactor) },
      },
    );
  Object.defineProperties(response, {
    url: { value: result.url.href },
    json: { value: async () => parseJsonExact(await response.text()) },
    arrayBuffer: { value: () => Promise.reject(notBytes(".arrayBuffer()")) },
    blob: { value: () => Promise.reject(notBytes(".blob()")) },
    bytes: { value: () => Promise.reject(notBytes(".bytes()")) },
    body: {
      get: () => {
        throw notBytes(".body");
      },
    },
    clone: { value: () => exactResponse(result, resource, redactor) },
  });
  return response;
}

/** What a failing module throws, as the unit's error: restload's own errors as they are, others named and masked. */
function moduleError(error: unknown, resource: PlannedResource, module: PlannedModule, redactor: Redactor, signal: AbortSignal): unknown {
  // Stopped (a signal, another chain's failure): that is the unit's error, not what the module made of it.
  if (signal.aborted) return signal.reason ?? error;
  if (error instanceof RestloadError) return error;
  return new RestloadError(
    "E_STEP",
    `Module resource "${resource.name}" failed (export "${module.export}" of "${module.module}"): ${redactor.redact(messageOf(error))}`,
    {
      hint: "Fix the module, or what it calls; the unit rolled back to its last checkpoint.",
      context: { resource: resource.name },
    },
  );
}
