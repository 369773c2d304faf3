// The extract stage, wired: one client, one host gate and the authenticators of a pipeline.
import packageJson from "../../package.json" with { type: "json" };
import type { Redactor } from "../config/redact.ts";
import type { SecretRef } from "../config/references.ts";
import type { Auth } from "../config/schema/auth.ts";
import { RestloadError } from "../errors.ts";
import type { Plan, PlannedResource } from "../plan/index.ts";
import type { Placeholder } from "../plan/template.ts";
import { parseTemplate } from "../plan/template.ts";
import { type ChainPage, type SelectorCheck, walkChain } from "./chain.ts";
import { type ModulePage, modulePages } from "./module-resource.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Authenticator, createAuth } from "./http/auth/index.ts";
import type { RefreshTokenStore } from "./http/auth/refresh-token-store.ts";
import { HttpClient, type RetryEvent } from "./http/client.ts";
import { HostGate } from "./http/host-gate.ts";
import { createTransport } from "./http/transport.ts";
import { IncrementalCursor, type RequestValues, type StoredCursor } from "./incremental.ts";
import { buildFirstRequest, clientHeaders } from "./request-builder.ts";
import { Semaphore } from "./scheduler.ts";
import { type StepRunner, compileSteps, loadConvert } from "./steps.ts";
import { dirname } from "node:path";
import { valueAt } from "./select.ts";
import { isTable } from "../config/references.ts";

export type { ChainPage } from "./chain.ts";
export type { ModulePage } from "./module-resource.ts";

/** A page of a resource: a response of an endpoint's chain, or one yield of a module resource. */
export type ResourcePage = ChainPage | ModulePage;

export interface ExtractorOptions {
  readonly plan: Plan;
  /** Secret values by name, as resolved by the config stage. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly redactor: Redactor;
  readonly clock?: Clock;
  /** A fetch with runtime-specific settings (extra CA certificates). */
  readonly fetch?: typeof fetch | undefined;
  readonly onRetry?: (event: RetryEvent) => void;
  /** Where `oauth2_refresh_token` keeps rotated refresh tokens for the next runs (state/token-store.ts). */
  readonly tokenStore?: RefreshTokenStore | undefined;
  /** Told what an auth worked around (a kept refresh token refused). */
  readonly onWarning?: (warning: AuthWarning) => void;
}

export interface AuthWarning {
  /** The unit of the resource that first used that auth. */
  readonly unit: string;
  /** Never holds a secret. */
  readonly message: string;
}

export interface PageOptions {
  readonly maxPages?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The parent record a child resource's placeholders are filled from. */
  readonly parent?: unknown;
  /** The request values of the chain's incremental cursor (stored state applied). */
  readonly incremental?: RequestValues | undefined;
  /** Where a module resource's `ctx.log` lines go (already masked). */
  readonly log?: ((message: string) => void) | undefined;
}

export interface Extractor {
  /** The pages of an endpoint resource's chain (`resourcePages` of an endpoint resource): a root's, or a child's for one parent record. */
  pages(resource: PlannedResource, options?: PageOptions): AsyncGenerator<ChainPage>;
  /** The pages of any resource: an endpoint resource's chain, or a module resource's yields. */
  resourcePages(resource: PlannedResource, options?: PageOptions): AsyncGenerator<ResourcePage>;
  /**
   * The incremental cursor of a resource's chain, from its stored cursor (none: from initial_value),
   * with its `convert` hook; undefined for a resource without `incremental`. Timestamp and date
   * windows without end_value end where the extractor was made (the run's start).
   */
  incrementalCursor(resource: PlannedResource, stored: StoredCursor | undefined): Promise<IncrementalCursor | undefined>;
  /** Requests sent and retries made so far. */
  readonly counters: { requests: number; retries: number };
}

export function createExtractor(options: ExtractorOptions): Extractor {
  const { plan, redactor } = options;
  const clock = options.clock ?? systemClock;
  const counters = { requests: 0, retries: 0 };
  const startedAt = clock.now();
  // Module paths (steps, converts, auth hooks, module resources) are relative to the pipeline file.
  const baseDir = dirname(plan.pipeline_file);
  const secret = (value: string | SecretRef): string => {
    if (typeof value === "string") return value;
    const found = options.secrets.get(value.name);
    if (found === undefined)
      throw new RestloadError("E_SECRET", `The secret "${value.name}" was not resolved`, {
        hint: "Run restload check to see where secrets are looked up.",
      });
    return found;
  };
  const baseUrl = plan.client.base_url === null ? undefined : secret(plan.client.base_url);
  const send = createTransport({ userAgent: `restload/${packageJson.version}`, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const client = new HttpClient({
    policy: {
      timeoutMs: plan.client.timeout * 1000,
      maxAttempts: plan.client.max_attempts,
      backoffFactor: plan.client.backoff_factor,
      maxRetryDelay: plan.client.max_retry_delay,
      maxResponseBytes: plan.client.max_response_bytes,
    },
    origins: { trusted: trustedOrigins(plan, baseUrl), allowed: new Set(plan.client.allowed_origins) },
    limiter: new Semaphore(plan.max_concurrency),
    gate: new HostGate(
      { requestsPerSecond: plan.client.requests_per_second, maxConnectionsPerHost: plan.client.max_connections_per_host },
      clock,
    ),
    clock,
    redactor,
    transport: (request, signal) => {
      counters.requests++;
      return send(request, signal);
    },
    onRetry: (event) => {
      counters.retries++;
      options.onRetry?.(event);
    },
  });

  // One authenticator per distinct auth table (secrets compared by name), so a fetched OAuth token,
  // and a refresh token the endpoint rotates, are shared by every resource using that auth, also
  // when resource_defaults copied the table into each resource.
  const authenticators = new Map<string, Authenticator>();
  const authFor = (auth: Auth | null, resource: PlannedResource): Authenticator | null => {
    if (auth === null) return null;
    const key = JSON.stringify(auth);
    let authenticator = authenticators.get(key);
    if (!authenticator) {
      authenticator = createAuth(auth, {
        secret,
        redactor,
        now: () => clock.now(),
        baseDir,
        tokenStore: options.tokenStore,
        warn: (message) => options.onWarning?.({ unit: resource.unit, message }),
        fetchToken: async (request, tokenOptions = {}) => {
          const result = await client.fetchJson(request, {
            resource: "(oauth2 token)",
            what: "the access token",
            via: "the token request",
            auth: null,
            responseActions: tokenOptions.rejectedWhen ?? [],
            signal: tokenOptions.signal,
            sendOnce: tokenOptions.sendOnce,
            refusedHint: tokenOptions.refusedHint,
          });
          return result.kind === "page" ? { rejected: false, body: result.body } : { rejected: true, status: result.status };
        },
      });
      authenticators.set(key, authenticator);
    }
    return authenticator;
  };

  // processing_steps compiled and a convert hook loaded once per resource (a child's chain and
  // cursor are made once per parent record).
  const stepsFor = perResource((resource) => compileSteps(resource.processing_steps, resource.name, baseDir));
  const convertFor = perResource((resource) => loadConvert(resource, baseDir));
  // Whether each resource's data_selector has been found in a response: once it has, in any chain
  // of the resource, a response without it is an empty page (a parent without children).
  const selectorCheckFor = perResource((): SelectorCheck => ({ found: false }));

  const incrementalCursor = async (resource: PlannedResource, stored: StoredCursor | undefined) =>
    resource.incremental
      ? new IncrementalCursor(resource.incremental, resource.name, resource.primary_key, stored, await convertFor(resource), startedAt)
      : undefined;

  // Without a stored cursor (extract, probe) requests start from initial_value (a windowed cursor's first window).
  const requestValues = async (resource: PlannedResource, pageOptions: PageOptions): Promise<RequestValues | undefined> =>
    pageOptions.incremental ?? (await incrementalCursor(resource, undefined))?.requestValues();

  async function* pages(resource: PlannedResource, pageOptions: PageOptions = {}): AsyncGenerator<ChainPage> {
    if (resource.module)
      throw new RestloadError("E_INTERNAL", `Resource "${resource.name}" is a module resource: it has no request chain`, {
        context: { resource: resource.name },
      });
    const incremental = await requestValues(resource, pageOptions);
    const valueOf = (placeholder: Placeholder): unknown => {
      if (placeholder.kind === "incremental" && incremental) return incremental.placeholders[placeholder.name];
      if (placeholder.kind === "resource" && pageOptions.parent !== undefined)
        return parentField(resource, placeholder.field, pageOptions.parent);
      // The plan gives every resource with a resource placeholder a parent: reaching this is a bug.
      throw new RestloadError("E_INTERNAL", `Cannot fill ${placeholder.text} of resource "${resource.name}" outside a parent record`, {
        context: { resource: resource.name },
      });
    };
    const first = buildFirstRequest(resource, {
      baseUrl,
      clientHeaders: plan.client.headers,
      secret,
      valueOf,
      extraParams: incremental?.params ?? {},
    });
    const chain = walkChain(resource, first, {
      client,
      auth: authFor(resource.auth, resource),
      maxPages: pageOptions.maxPages,
      signal: pageOptions.signal,
      via: pageOptions.parent === undefined ? "the request" : "a URL built from parent data",
      // With row_order the caller stops once records leave the range: no page is requested ahead.
      prefetch: !resource.incremental?.row_order,
      selectorCheck: selectorCheckFor(resource),
    });
    yield* withSteps(chain, stepsFor(resource));
  }

  // ctx.fetch shares the chains' client, base_url and client headers, and the resource's auth.
  async function* modulePagesOf(resource: PlannedResource, pageOptions: PageOptions): AsyncGenerator<ModulePage> {
    const call = { ...pageOptions, incremental: await requestValues(resource, pageOptions) };
    const headers = clientHeaders(plan.client.headers, secret);
    const deps = { client, auth: authFor(resource.auth, resource), baseUrl, headers, redactor, clock, baseDir };
    yield* withSteps(modulePages(resource, call, deps), stepsFor(resource));
  }

  return {
    counters,
    pages,
    resourcePages: (resource, pageOptions = {}) => (resource.module ? modulePagesOf(resource, pageOptions) : pages(resource, pageOptions)),
    incrementalCursor,
  };
}

// internal

/** `make(resource)`, made on first use and kept per resource name. */
function perResource<T>(make: (resource: PlannedResource) => T): (resource: PlannedResource) => T {
  const made = new Map<string, T>();
  return (resource) => {
    if (!made.has(resource.name)) made.set(resource.name, make(resource));
    return made.get(resource.name)!;
  };
}

/** The pages with the resource's processing steps applied to their records. */
async function* withSteps<P extends ResourcePage>(pages: AsyncGenerator<P>, steps: Promise<StepRunner | undefined>): AsyncGenerator<P> {
  const runner = await steps;
  if (!runner) {
    yield* pages;
    return;
  }
  for await (const page of pages) yield { ...page, records: await runner(page.records) };
}

/** A parent record's field for a placeholder; a missing field fails naming the fields that exist. */
function parentField(resource: PlannedResource, field: string, parent: unknown): unknown {
  const value = valueAt(parent, field);
  if (value === undefined || value === null) {
    const fields = isTable(parent) ? Object.keys(parent).slice(0, 30).join(", ") : "(not an object)";
    throw new RestloadError(
      "E_DATA",
      `Cannot resolve {resources.${resource.parent}.${field}} for resource "${resource.name}" as the parent record has no field "${field}"; its fields are: ${fields}`,
      {
        hint: "Fix the field in the placeholder (or the resolve param).",
        context: { resource: resource.name },
      },
    );
  }
  return value;
}

/** base_url's origin, OAuth token URLs' origins, and the origins of configured absolute paths. */
function trustedOrigins(plan: Plan, baseUrl: string | undefined): Set<string> {
  const trusted = new Set<string>();
  const add = (url: string) => {
    try {
      trusted.add(new URL(url).origin);
    } catch {
      // A base_url that is not a URL fails when the first request is built, with the resource named.
    }
  };
  if (baseUrl !== undefined) add(baseUrl);
  for (const auth of [plan.client.auth, ...plan.resources.map((resource) => resource.auth)]) {
    if (auth?.type === "oauth2_client_credentials" || auth?.type === "oauth2_refresh_token") add(auth.access_token_url);
  }
  for (const resource of plan.resources) {
    const [head] = parseTemplate(resource.path);
    if (typeof head === "string" && /^https?:\/\/[^/]+/i.test(head)) add(head);
  }
  return trusted;
}
