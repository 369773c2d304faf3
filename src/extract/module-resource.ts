// Module resources: the user's async generator function yields the records; `ctx.fetch` is
// restload's HTTP client (base_url, auth, retries, rate limits, origin rules, size limit).
import type { Redactor } from "../config/redact.ts";
import { RestloadError, messageOf } from "../errors.ts";
import type { PlannedModule, PlannedResource } from "../plan/index.ts";
import type { Clock } from "./clock.ts";
import type { Authenticator } from "./http/auth/index.ts";
import type { FetchResult, HttpClient } from "./http/client.ts";
import { parseJsonExact } from "./http/json.ts";
import type { HttpRequest } from "./http/request.ts";
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
  /** A path (relative to base_url) or an absolute URL; a status still failing after retries throws. */
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
 * `return()`, so its `finally` blocks run.
 */
export async function* modulePages(resource: PlannedResource, call: ModuleCall, deps: ModuleDeps): AsyncGenerator<ModulePage> {
  const module = resource.module!;
  const run = await loadModuleFunction(resource, module, deps.baseDir);
  const signal = call.signal ?? new AbortController().signal;
  const ctx: ModuleContext = Object.freeze({
    resource: resource.name,
    fetch: moduleFetch(resource, deps, signal),
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
        next = await iterator.next();
      } catch (error) {
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
    if (!done) await iterator.return?.(undefined)?.catch(() => {});
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

/** `ctx.fetch`: one request through restload's client, answered with a standard Response. */
function moduleFetch(resource: PlannedResource, deps: ModuleDeps, signal: AbortSignal): ModuleContext["fetch"] {
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
      signal,
      read: "text",
    });
    return exactResponse(result);
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

/** A standard Response of the body read; `.json()` keeps integers beyond 2^53 exact (as bigint). */
function exactResponse(result: FetchResult): Response {
  // Without response actions every answer is a page.
  if (result.kind !== "page") throw new RestloadError("E_INTERNAL", "ctx.fetch got an ignored response");
  const nullBody = result.status === 204 || result.status === 205;
  const response = new Response(nullBody ? null : (result.body as string), { status: result.status, headers: result.headers });
  Object.defineProperties(response, {
    url: { value: result.url.href },
    json: { value: async () => parseJsonExact(await response.text()) },
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
