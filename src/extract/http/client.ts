// The HTTP client: restload's own retry loop around the whole exchange (body included), redirects
// followed hop by hop with the origin rule, rate-limit pauses, strict JSON, errors that say what to do.
import type { Redactor } from "../../config/redact.ts";
import { RestloadError, messageOf } from "../../errors.ts";
import type { Clock } from "../clock.ts";
import type { Authenticator } from "./auth/index.ts";
import { parseRetryAfter, retryDelayMs } from "./backoff.ts";
import { BodyCutOff, BodyTooLarge, readBody } from "./body.ts";
import { failedBeforeSending, isConnectionFailure } from "./connection-failure.ts";
import type { HostGate } from "./host-gate.ts";
import { parseJsonExact } from "./json.ts";
import { type OriginPolicy, type OriginVerdict, checkOrigin } from "./origins.ts";
import { rateLimitPauseMs } from "./rate-limit.ts";
import { type HttpRequest, describeRequest, redactUrl, withRequest } from "./request.ts";
import type { Transport } from "./transport.ts";
import type { Semaphore } from "../scheduler.ts";

export interface HttpPolicy {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** Seconds. */
  readonly backoffFactor: number;
  /** Seconds. */
  readonly maxRetryDelay: number;
  readonly maxResponseBytes: number;
}

export interface ClientDeps {
  readonly policy: HttpPolicy;
  readonly origins: OriginPolicy;
  readonly gate: HostGate;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly redactor: Redactor;
  /** Caps the requests in flight across the whole pipeline (`max_concurrency`). */
  readonly limiter?: Semaphore | undefined;
  /** Told about every retry, for counters and logs. */
  readonly onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  readonly resource: string;
  readonly attempt: number;
  readonly reason: string;
  readonly delayMs: number;
}

export interface ResponseAction {
  readonly status_code: readonly number[] | null;
  readonly content: string | null;
}

export interface FetchContext {
  readonly resource: string;
  /** "page 3", "the token", for messages. */
  readonly what: string;
  /** How the URL was reached: "request", "next link", "parent data URL". */
  readonly via: string;
  readonly auth: Authenticator | null;
  readonly responseActions: readonly ResponseAction[];
  readonly signal?: AbortSignal | undefined;
  /** How a 2xx body is read: JSON (the default; a body that is not JSON is an error), or as text (a module's ctx.fetch). */
  readonly read?: "json" | "text";
  /**
   * Set for a request that must not reach the server twice (a refresh grant, which may spend its
   * token): only a connection that failed before sending is tried again; `hint` is what the error
   * of any other failure says to do.
   */
  readonly sendOnce?: { readonly hint: string } | undefined;
  /** The hint of a 400, 401 or 403 in place of the one derived from `auth` (a token endpoint refusing the client). */
  readonly refusedHint?: string | undefined;
}

export type FetchResult =
  | { readonly kind: "page"; readonly status: number; readonly headers: Headers; readonly url: URL; readonly body: unknown }
  | { readonly kind: "ignored"; readonly status: number; readonly url: URL };

const maxRedirects = 10;

export class HttpClient {
  constructor(private readonly deps: ClientDeps) {}

  /** `url` as errors show it: credentials and secrets masked. */
  redact(url: URL): string {
    return redactUrl(url, this.deps.redactor);
  }

  /** `GET <url>` as errors show it: secrets masked, a very long URL cut. */
  describe(request: HttpRequest): string {
    return describeRequest(request, this.deps.redactor);
  }

  /**
   * Fetches `request` and reads its body (parsed JSON, or text when `context.read` is "text"),
   * retrying what is transient; throws RestloadError otherwise.
   */
  async fetchJson(request: HttpRequest, context: FetchContext): Promise<FetchResult> {
    const { policy, clock } = this.deps;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      let outcome: Outcome;
      try {
        outcome = await this.attempt(request, context);
      } catch (error) {
        outcome = this.classifyThrown(error, request, context);
      }
      if (outcome.kind === "done") return outcome.result;
      if (outcome.kind === "unauthorized") {
        if (!refreshed && context.auth?.refresh(outcome.sent)) {
          refreshed = true;
          attempt--;
          continue;
        }
        throw outcome.error;
      }
      if (outcome.kind === "fatal") throw outcome.error;
      if (context.sendOnce && !outcome.unsent) {
        throw new RestloadError(
          "E_HTTP",
          `Cannot fetch ${context.what} of resource "${context.resource}" as ${outcome.reason}, and it is not sent twice: ${describeRequest(outcome.request ?? request, this.deps.redactor)}${outcome.excerpt ?? ""}`,
          { hint: context.sendOnce.hint, context: { resource: context.resource, url: redactUrl(request.url, this.deps.redactor) } },
        );
      }
      if (attempt >= policy.maxAttempts) {
        throw new RestloadError(
          "E_HTTP",
          `Cannot fetch ${context.what} of resource "${context.resource}" after ${attempt} attempts: ${outcome.reason}: ${describeRequest(outcome.request ?? request, this.deps.redactor)}${outcome.excerpt ?? ""}`,
          {
            hint: "The API kept failing; rerun later, or raise client.max_attempts.",
            context: { resource: context.resource, url: redactUrl(request.url, this.deps.redactor) },
          },
        );
      }
      // This chain alone backs off (jittered, never below its minimum, so `Retry-After: 0` does not
      // spin). The host-wide pause is only what the server asked for (Retry-After, rate-limit
      // reset), set in exchange(): one chain's jitter must not stall every other chain.
      const delayMs = retryDelayMs(attempt, policy, clock.random(), outcome.retryAfterMs);
      this.deps.onRetry?.({ resource: context.resource, attempt, reason: outcome.reason, delayMs });
      await clock.sleep(delayMs, context.signal);
    }
  }

  // internal

  private async attempt(request: HttpRequest, context: FetchContext): Promise<Outcome> {
    const { redactor } = this.deps;
    let current = request;
    let verdict: OriginVerdict = this.check(current.url, context, context.via);
    for (let hop = 0; ; hop++) {
      const exchange = await this.exchange(current, verdict, context);
      const { response } = exchange;
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        if (hop >= maxRedirects)
          return fatal(
            "E_HTTP",
            `Cannot fetch ${context.what} of resource "${context.resource}" as it redirects more than ${maxRedirects} times: ${describeRequest(request, redactor)}`,
          );
        const next = new URL(location, current.url);
        verdict = this.check(next, context, "a redirect");
        const toGet = response.status === 303 || ((response.status === 301 || response.status === 302) && current.method === "POST");
        // Turned into a GET, the request drops its body and the Content-Type header (as requests does).
        const headers = Object.fromEntries(Object.entries(current.headers).filter(([name]) => name.toLowerCase() !== "content-type"));
        current = toGet
          ? withRequest(current, { url: next, method: "GET", headers, body: undefined, contentType: undefined })
          : withRequest(current, { url: next });
        continue;
      }
      return this.interpret(exchange.text, response, current, exchange.sent, context);
    }
  }

  /** One request and its whole body, inside the timeout and the host gate. */
  private async exchange(
    request: HttpRequest,
    verdict: OriginVerdict,
    context: FetchContext,
  ): Promise<{ response: Response; text: string; sent: HttpRequest }> {
    const { gate, policy, transport } = this.deps;
    // Credentials first: fetching an OAuth token is a request of its own and must not wait on
    // the slot this request would hold.
    const sent =
      verdict === "trusted"
        ? context.auth
          ? await context.auth.apply(request, context.signal)
          : request
        : this.withoutCredentials(request, context);
    // The host gate first (a host's pause or budget must not hold a pipeline-wide slot), then the slot.
    const release = await gate.acquire(request.url.host, context.signal);
    let slot: (() => void) | undefined;
    try {
      slot = await this.deps.limiter?.acquire();
      // Stopped (SIGTERM) while waiting: nothing more is sent.
      context.signal?.throwIfAborted();
    } catch (error) {
      slot?.();
      release();
      throw error;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError(policy.timeoutMs)), policy.timeoutMs);
    const onOuterAbort = () => controller.abort(context.signal?.reason);
    context.signal?.addEventListener("abort", onOuterAbort, { once: true });
    try {
      const response = await transport(sent, controller.signal);
      // The server's instruction (Retry-After on a 429/503, a spent rate limit) pauses the host for
      // every chain; it is set before this request's slot is released, so no other chain slips through.
      const retryAfter =
        response.status === 429 || response.status === 503
          ? parseRetryAfter(response.headers.get("retry-after"), this.deps.clock.now())
          : undefined;
      const pause = retryAfter ?? rateLimitPauseMs(response.headers, this.deps.clock.now());
      if (pause !== undefined) gate.pause(request.url.host, Math.min(pause, policy.maxRetryDelay * 1000));
      const text = await readBody(response, policy.maxResponseBytes);
      return { response, text, sent };
    } catch (error) {
      // fetch reports our abort as an AbortError; the reason says whether it was the timeout.
      if (controller.signal.aborted && controller.signal.reason instanceof TimeoutError) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      context.signal?.removeEventListener("abort", onOuterAbort);
      release();
      slot?.();
    }
  }

  /** `request` is what the chain asked for; `sent` the same with credentials, shown (masked) in messages. */
  private interpret(text: string, response: Response, request: HttpRequest, sent: HttpRequest, context: FetchContext): Outcome {
    const status = response.status;
    const matched = context.responseActions.find(
      (action) =>
        (action.status_code === null || action.status_code.includes(status)) && (action.content === null || text.includes(action.content)),
    );
    if (matched) return { kind: "done", result: { kind: "ignored", status, url: request.url } };
    const describe = () => `${describeRequest(sent, this.deps.redactor)}${excerpt(text, this.deps.redactor)}`;
    if (status >= 200 && status < 300) {
      if (context.read === "text")
        return { kind: "done", result: { kind: "page", status, headers: response.headers, url: request.url, body: text } };
      try {
        const body = text.trim() === "" ? null : parseJsonExact(text);
        return { kind: "done", result: { kind: "page", status, headers: response.headers, url: request.url, body } };
      } catch (error) {
        if (/end of (JSON )?input|Unexpected EOF|unterminated|JSON Parse error: Unexpected end/i.test(messageOf(error))) {
          return { kind: "retry", reason: "the JSON body ended early" };
        }
        const type = response.headers.get("content-type") ?? "no content type";
        return fatal(
          "E_RESPONSE",
          `Cannot read ${context.what} of resource "${context.resource}" as the body is not JSON (${type}): ${describe()}`,
          "The API answered with something else than JSON, often a maintenance or login page. Check base_url and the endpoint path.",
          context,
        );
      }
    }
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.deps.clock.now());
    const rateLimited = status === 429 || (status === 403 && rateLimitPauseMs(response.headers, this.deps.clock.now()) !== undefined);
    if (rateLimited || (status >= 500 && status <= 599)) {
      return {
        kind: "retry",
        reason: `the server returned ${status}`,
        retryAfterMs: retryAfterMs ?? (rateLimited ? rateLimitPauseMs(response.headers, this.deps.clock.now()) : undefined),
        request: sent,
        excerpt: excerpt(text, this.deps.redactor),
      };
    }
    const hint =
      context.refusedHint !== undefined && (status === 400 || status === 401 || status === 403)
        ? context.refusedHint
        : status === 401 || status === 403
          ? refusedHint(context.auth)
          : status === 404
            ? 'Check the endpoint path; to skip missing items add response_actions = [{ status_code = 404, action = "ignore" }].'
            : "Check the request the pipeline builds for this resource.";
    const error = new RestloadError(
      "E_HTTP",
      `Cannot fetch ${context.what} of resource "${context.resource}" as the server returned ${status}: ${describe()}`,
      {
        hint,
        context: { resource: context.resource, url: redactUrl(request.url, this.deps.redactor) },
      },
    );
    return status === 401 ? { kind: "unauthorized", error, sent } : { kind: "fatal", error };
  }

  private classifyThrown(error: unknown, request: HttpRequest, context: FetchContext): Outcome {
    if (error instanceof RestloadError) return { kind: "fatal", error };
    if (context.signal?.aborted) throw context.signal.reason;
    if (error instanceof TimeoutError) return { kind: "retry", reason: `no complete response within ${error.ms / 1000} s` };
    if (error instanceof BodyCutOff) return { kind: "retry", reason: error.message };
    if (error instanceof BodyTooLarge) {
      return fatal(
        "E_RESPONSE",
        `Cannot read ${context.what} of resource "${context.resource}" as ${error.message}: ${describeRequest(request, this.deps.redactor)}`,
        "Raise client.max_response_bytes, or request smaller pages.",
        context,
      );
    }
    if (isConnectionFailure(error))
      return {
        kind: "retry",
        reason: `the connection failed (${this.deps.redactor.redact(messageOf(error))})`,
        unsent: failedBeforeSending(error),
      };
    // Anything else is not the network's doing (a bug, a header the runtime refuses): asking
    // again would fail the same way, and "the connection failed" would hide the real message.
    const { redactor } = this.deps;
    throw new RestloadError(
      "E_INTERNAL",
      `Cannot request ${context.what} of resource "${context.resource}": ${redactor.redact(messageOf(error))} (${describeRequest(request, redactor)})`,
      {
        hint: "This is not a network failure, so it was not retried. If the message names a value of the pipeline (a header, a URL, a token the API returned), fix that value; otherwise report it with this message.",
        context: { resource: context.resource, url: redactUrl(request.url, redactor) },
        cause: error,
      },
    );
  }

  /**
   * A request to an allowed (not trusted) origin carries no credentials: not the auth, not the
   * configured headers (which may hold keys); a body holding a secret is refused.
   */
  private withoutCredentials(request: HttpRequest, context: FetchContext): HttpRequest {
    const { redactor } = this.deps;
    if (request.body !== undefined && redactor.redact(request.body) !== request.body) {
      throw new RestloadError(
        "E_ORIGIN",
        `Cannot send the body of resource "${context.resource}" to ${request.url.origin}: it holds a secret and that origin is not the API's`,
        {
          hint: "Credentials go only to the API's origin; allowed_origins are requested without them.",
          context: { resource: context.resource, url: redactUrl(request.url, redactor) },
        },
      );
    }
    return withRequest(request, { headers: {} });
  }

  private check(url: URL, context: FetchContext, via: string): OriginVerdict {
    const { redactor } = this.deps;
    // Masked only when an error quotes it: masking is a pass over every secret form, not to be paid per request.
    return checkOrigin(url, this.deps.origins, {
      resource: context.resource,
      via,
      get redactedUrl() {
        return redactUrl(url, redactor);
      },
    });
  }
}

// internal

type Outcome =
  | { kind: "done"; result: FetchResult }
  | {
      kind: "retry";
      reason: string;
      retryAfterMs?: number | undefined;
      request?: HttpRequest;
      excerpt?: string;
      /** A connection that failed before the request was sent: safe to send even a `sendOnce` request again. */
      unsent?: boolean;
    }
  | { kind: "unauthorized"; error: RestloadError; sent: HttpRequest }
  | { kind: "fatal"; error: RestloadError };

class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

function fatal(code: "E_HTTP" | "E_RESPONSE", message: string, hint?: string, context?: FetchContext): Outcome {
  return {
    kind: "fatal",
    error: new RestloadError(code, message, { ...(hint ? { hint } : {}), ...(context ? { context: { resource: context.resource } } : {}) }),
  };
}

/** The hint of a 401 or 403: the auth's own, else its secrets, else what fits an auth without secrets or none. */
function refusedHint(auth: Authenticator | null): string {
  if (auth === null) return "The API wants credentials: set client.auth (or the endpoint's auth).";
  if (auth.refusedHint !== undefined) return auth.refusedHint;
  const secrets = auth.secretNames;
  if (secrets.length === 0) return `The API refused the credentials of the ${auth.type} auth: check its values in the pipeline file.`;
  return `Check the secret${secrets.length > 1 ? "s" : ""} ${secrets.map((name) => `"${name}"`).join(", ")}.`;
}

/** ` (body: "<first 200 characters>")`, secrets masked, whitespace folded. */
function excerpt(text: string, redactor: Redactor): string {
  // Masked before it is cut or folded, so no part of a secret survives at the cut.
  const folded = redactor.redact(text).replace(/\s+/g, " ").trim();
  if (folded === "") return "";
  const short = folded.length > 200 ? `${folded.slice(0, 200)}…` : folded;
  return ` (body: ${JSON.stringify(short)})`;
}
