// The OAuth token endpoint as the oauth2 auths see it: how a token request is sent, and what its answer holds.
import type { SecretRef } from "../../../config/references.ts";
import { RestloadError } from "../../../errors.ts";
import type { ResponseAction } from "../client.ts";
import type { HttpRequest } from "../request.ts";

export interface TokenFetchOptions {
  readonly signal?: AbortSignal | undefined;
  /** Answers that mean "this grant is refused" (a status and a word of the body): returned as rejected, not thrown. */
  readonly rejectedWhen?: readonly ResponseAction[];
  /**
   * Set for a request that must not reach the endpoint twice (a refresh grant: the endpoint may
   * spend the refresh token on the first): only a connection that failed before sending is tried
   * again; `hint` is what the error of any other failure says to do.
   */
  readonly sendOnce?: { readonly hint: string } | undefined;
  /** The hint of a 400, 401 or 403 from the endpoint (the client credentials refused). */
  readonly refusedHint?: string | undefined;
}

export type TokenResult = { readonly rejected: false; readonly body: unknown } | { readonly rejected: true; readonly status: number };

/** Sends a token request (retries included, no credentials added) and returns its parsed JSON. */
export type TokenFetcher = (request: HttpRequest, options?: TokenFetchOptions) => Promise<TokenResult>;

export interface TokenResponse {
  readonly accessToken: string;
  /** How long the access token lives: `expires_in`, else `default_token_expiration`. */
  readonly lifetimeMs: number;
}

/**
 * The access token of a token endpoint's JSON answer. `expires_in` may be a number or a numeric
 * string (some endpoints send `"3599"`); without a usable one, `defaultSeconds` applies. `url` is
 * the token URL as messages show it (masked).
 */
export function readTokenResponse(body: unknown, url: string, defaultSeconds: number): TokenResponse {
  const record = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
  if (typeof record.access_token !== "string" || record.access_token === "") {
    throw new RestloadError("E_AUTH", `Cannot use the token response of ${url} as it has no access_token`, {
      hint: "Check access_token_url and the client credentials.",
    });
  }
  const expiresIn = typeof record.expires_in === "string" ? Number(record.expires_in) : record.expires_in;
  const seconds = typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : defaultSeconds;
  return { accessToken: record.access_token, lifetimeMs: seconds * 1000 };
}

/** The new refresh token of a token endpoint's answer, when it rotates them (read before anything else is checked). */
export function refreshTokenOf(body: unknown): string | undefined {
  const value = (body as { refresh_token?: unknown } | null | undefined)?.refresh_token;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** `base64(client_id:client_secret)` for `Authorization: Basic`, each part form-encoded first (RFC 6749 §2.3.1). */
export function clientBasic(clientId: string, clientSecret: string): string {
  return Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
}

/** What to check when the token endpoint refuses the client credentials (`invalid_client`). */
export function clientRefusedHint(clientId: string | SecretRef, clientSecret: string | SecretRef): string {
  const named = (value: string | SecretRef, key: string) =>
    typeof value === "string" ? `${key} in the pipeline file` : `the secret "${value.name}" (${key})`;
  // A public client (no secret) is identified by its id alone.
  const parts = clientSecret === "" ? [named(clientId, "client_id")] : [named(clientId, "client_id"), named(clientSecret, "client_secret")];
  return `The token endpoint refused the client credentials: check ${parts.join(" and ")}, and access_token_url.`;
}
