// Which origins a request may go to, and which of them receive credentials.
import { RestloadError } from "../../errors.ts";

export interface OriginPolicy {
  /** Origins that receive credentials: base_url's, the OAuth token URL's, configured absolute paths'. */
  readonly trusted: ReadonlySet<string>;
  /** Further origins that may be requested (without credentials): `client.allowed_origins`. */
  readonly allowed: ReadonlySet<string>;
}

export type OriginVerdict = "trusted" | "allowed";

/**
 * Whether `url` may be requested. A next link, a redirect or a URL from parent data that leaves
 * the trusted origins is refused unless its origin is in allowed_origins.
 */
export function checkOrigin(
  url: URL,
  policy: OriginPolicy,
  context: { resource: string; via: string; redactedUrl: string },
): OriginVerdict {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RestloadError(
      "E_ORIGIN",
      `Cannot follow ${context.via} of resource "${context.resource}" to ${context.redactedUrl} as it is not an http(s) URL`,
      {
        context: { resource: context.resource, url: context.redactedUrl },
      },
    );
  }
  if (policy.trusted.has(url.origin)) return "trusted";
  if (policy.allowed.has(url.origin)) return "allowed";
  throw new RestloadError(
    "E_ORIGIN",
    `Cannot follow ${context.via} of resource "${context.resource}" to ${context.redactedUrl} as its origin ${url.origin} is not the API's (${[...policy.trusted].join(", ") || "none"})`,
    {
      hint: `Credentials are sent only to the API's origin. If ${url.origin} is expected, add it to client.allowed_origins (it is then requested without credentials).`,
      context: { resource: context.resource, url: context.redactedUrl },
    },
  );
}
