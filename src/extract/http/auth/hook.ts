// `{ module, export }`: a function of the user's file that signs each attempt (HMAC and the like):
// it gets the request as it will be sent and returns the headers to add or replace.
import type { Auth } from "../../../config/schema/auth.ts";
import { isTable } from "../../../config/references.ts";
import { RestloadError, messageOf } from "../../../errors.ts";
import { loadUserFunction } from "../../user-module.ts";
import { type HttpRequest, describeRequest, withRequest } from "../request.ts";
import type { AuthContext, Authenticator } from "./index.ts";

/** What the hook is given for each attempt. Header names are lower-case. */
export interface HookRequest {
  readonly method: string;
  /** The full URL, query included. */
  readonly url: string;
  /** The request's headers, `content-type` included when there is a body. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body exactly as sent, or undefined. */
  readonly body: string | undefined;
}

type Hook = (request: HookRequest) => unknown;

/**
 * Headers that carry no credential: their values are not masked (a masked `application/json`
 * would blank that word out of every message).
 */
const plainHeaders = new Set(["accept", "content-type", "content-length", "user-agent"]);
/** Shorter values are not masked: no credential is that short, and masking `1` or `v2` would garble messages. */
const shortestMasked = 8;

export function hookAuth(auth: Extract<Auth, { type: "hook" }>, context: AuthContext): Authenticator {
  const name = `${auth.module}#${auth.export}`;
  let loaded: Promise<Hook> | undefined;

  const sign = async (request: HttpRequest): Promise<HttpRequest> => {
    loaded ??= loadUserFunction<Hook>(auth, "the auth hook", context.baseDir, "E_AUTH");
    const hook = await loaded;
    const headers: Record<string, string> = lowerCased(request.headers);
    // The Content-Type the transport will add, so a signature over the headers matches what is sent.
    if (request.body !== undefined && headers["content-type"] === undefined && request.contentType !== null)
      headers["content-type"] = request.contentType ?? "application/json";
    let returned: unknown;
    try {
      returned = await hook({ method: request.method, url: request.url.toString(), headers, body: request.body });
    } catch (error) {
      throw new RestloadError(
        "E_AUTH",
        `Cannot sign ${describeRequest(request, context.redactor)} with the auth hook ${name} as it threw: ${context.redactor.redact(messageOf(error))}`,
        { hint: `Fix the function "${auth.export}" of ${auth.module}.`, context: { url: context.redactor.redact(request.url.toString()) } },
      );
    }
    const added = headersOf(returned, name, auth.export);
    for (const [key, value] of Object.entries(added))
      if (!plainHeaders.has(key) && value.length >= shortestMasked) context.redactor.addRecent(value);
    // A header the hook returns replaces the request's of the same name, whatever its case.
    const kept = Object.entries(request.headers).filter(([key]) => !Object.hasOwn(added, key.toLowerCase()));
    return withRequest(request, { headers: { ...Object.fromEntries(kept), ...added } });
  };

  return {
    type: "hook",
    secretNames: [],
    refusedHint: `The API refused the headers of the auth hook: check the function "${auth.export}" of ${auth.module} (the key it signs with, what it signs, the clock).`,
    apply: (request) => sign(request),
    // The hook signs every attempt afresh; a 401 is its answer, not a stale credential.
    refresh: () => false,
  };
}

// internal

/** The headers a hook returned, names lower-cased; anything but an object of strings (or numbers) fails. */
function headersOf(returned: unknown, name: string, exportName: string): Record<string, string> {
  const expected = `Make "${exportName}" return the headers to add, as an object such as { "x-signature": "…" } (or a promise of one).`;
  const entries = returned instanceof Headers ? [...returned.entries()] : isTable(returned) ? Object.entries(returned) : undefined;
  if (entries === undefined)
    // Its kind only: the value itself may be a signature.
    throw new RestloadError(
      "E_AUTH",
      `Cannot use what the auth hook ${name} returned as it is not an object of headers: found ${kindOf(returned)}`,
      {
        hint: expected,
      },
    );
  const headers: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof value !== "string" && typeof value !== "number")
      throw new RestloadError(
        "E_AUTH",
        `Cannot use the header "${key}" the auth hook ${name} returned as its value is not a string: found ${kindOf(value)}`,
        { hint: expected },
      );
    headers[key.toLowerCase()] = String(value);
  }
  return headers;
}

function kindOf(value: unknown): string {
  if (value === undefined) return "undefined (no return value)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}
