// The OAuth token endpoint as the oauth2 auths see it: how a token request is sent, and what its answer holds.
import { RestloadError } from "../../../errors.ts";
import type { ResponseAction } from "../client.ts";
import type { HttpRequest } from "../request.ts";

export interface TokenFetchOptions {
  readonly signal?: AbortSignal | undefined;
  /** Answers that mean "this grant is refused" (a status and a word of the body): returned as rejected, not thrown. */
  readonly rejectedWhen?: readonly ResponseAction[];
}

export type TokenResult = { readonly rejected: false; readonly body: unknown } | { readonly rejected: true; readonly status: number };

/** Sends a token request (retries included, no credentials added) and returns its parsed JSON. */
export type TokenFetcher = (request: HttpRequest, options?: TokenFetchOptions) => Promise<TokenResult>;

export interface TokenResponse {
  readonly accessToken: string;
  /** How long the access token lives: `expires_in`, else `default_token_expiration`. */
  readonly lifetimeMs: number;
  /** A new refresh token, when the endpoint rotates them. */
  readonly refreshToken: string | undefined;
}

/**
 * The tokens of a token endpoint's JSON answer. `expires_in` may be a number or a numeric string
 * (some endpoints send `"3599"`); without a usable one, `defaultSeconds` applies.
 */
export function readTokenResponse(body: unknown, url: string, defaultSeconds: number): TokenResponse {
  const record = (body ?? {}) as { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
  if (typeof record.access_token !== "string" || record.access_token === "") {
    throw new RestloadError("E_AUTH", `Cannot use the token response of ${url} as it has no access_token`, {
      hint: "Check access_token_url and the client credentials.",
    });
  }
  const expiresIn = typeof record.expires_in === "string" ? Number(record.expires_in) : record.expires_in;
  const seconds = typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : defaultSeconds;
  const refreshToken = typeof record.refresh_token === "string" && record.refresh_token !== "" ? record.refresh_token : undefined;
  return { accessToken: record.access_token, lifetimeMs: seconds * 1000, refreshToken };
}
