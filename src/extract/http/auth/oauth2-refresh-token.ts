// `oauth2_refresh_token`: access tokens from the refresh-token grant (RFC 6749 §6), renewed shortly
// before they expire and once after a 401; a refresh token the endpoint rotates to is kept for the
// next runs (beside the database) and preferred to the configured one while that stays the same.
import { createHash } from "node:crypto";
import type { Auth } from "../../../config/schema/auth.ts";
import { RestloadError, messageOf } from "../../../errors.ts";
import type { ResponseAction } from "../client.ts";
import { withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";
import { AccessTokenCache } from "./token-cache.ts";
import { type TokenResult, readTokenResponse } from "./token-endpoint.ts";

type RefreshTokenAuth = Extract<Auth, { type: "oauth2_refresh_token" }>;

/**
 * A refused refresh token: RFC 6749 §5.2's `invalid_grant` (Google, Salesforce, Xero, …) and
 * HubSpot's `BAD_REFRESH_TOKEN`. Anything else the endpoint refuses (a wrong client secret) fails
 * as it is, with the endpoint's answer quoted.
 */
const refused: readonly ResponseAction[] = [
  { status_code: [400, 401], content: "invalid_grant" },
  { status_code: [400, 401], content: "BAD_REFRESH_TOKEN" },
];

/** Which refresh token a grant used. */
type Held = { readonly token: string; readonly from: "configured" | "kept" };

export function oauth2RefreshTokenAuth(auth: RefreshTokenAuth, context: AuthContext): Authenticator {
  const { redactor, tokenStore: store } = context;
  const clientId = context.secret(auth.client_id);
  const clientSecret = context.secret(auth.client_secret);
  const configured = context.secret(auth.refresh_token);
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
  for (const value of [clientSecret, configured, basic]) redactor.add(value);
  const url = redactor.redact(auth.access_token_url);
  // One kept token per token endpoint and client: the file name gives neither away.
  const key = sha256(`${auth.access_token_url}\n${clientId}`).slice(0, 16);
  const configuredSha256 = sha256(configured);
  const where = store ? store.where(key) : "memory (no token store)";

  let held: Held | undefined;
  // A kept token that was refused, or that an earlier configured token started: removed once the
  // configured one works.
  let staleKept = false;
  let fellBack = false;

  const firstHeld = async (): Promise<Held> => {
    const kept = await store?.read(key);
    if (kept && kept.configured_sha256 === configuredSha256) {
      redactor.add(kept.refresh_token);
      return { token: kept.refresh_token, from: "kept" };
    }
    staleKept = kept !== undefined;
    return { token: configured, from: "configured" };
  };

  const grant = (refreshToken: string, signal?: AbortSignal): Promise<TokenResult> => {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
    if (auth.client_auth === "body") {
      form.set("client_id", clientId);
      if (clientSecret !== "") form.set("client_secret", clientSecret);
    }
    for (const [name, value] of Object.entries(auth.access_token_request_data)) form.set(name, String(value));
    return context.fetchToken(
      {
        method: "POST",
        url: new URL(auth.access_token_url),
        headers: { accept: "application/json", ...(auth.client_auth === "basic" ? { authorization: `Basic ${basic}` } : {}) },
        body: form.toString(),
        contentType: "application/x-www-form-urlencoded",
      },
      { signal, rejectedWhen: refused },
    );
  };

  const tokens = new AccessTokenCache(async (signal) => {
    held ??= await firstHeld();
    let result = await grant(held.token, signal);
    if (result.rejected && held.from === "kept" && !fellBack) {
      fellBack = true;
      staleKept = true;
      context.warn(
        `The token endpoint ${url} refused the refresh token kept from an earlier rotation (${where}) with ${result.status}; trying the configured refresh token${nameOf(auth)} once.`,
      );
      held = { token: configured, from: "configured" };
      result = await grant(held.token, signal);
    }
    if (result.rejected) {
      throw new RestloadError(
        "E_AUTH",
        `Cannot refresh the access token at ${url} as the token endpoint refused the ${fellBack ? "kept and the configured refresh tokens" : "configured refresh token"} (${result.status}: expired, revoked or already used)`,
        {
          hint: `Authorize again to get a new refresh token and put it in ${typeof auth.refresh_token === "string" ? "refresh_token in the pipeline file" : `the secret "${auth.refresh_token.name}"`}; restload then keeps the tokens the endpoint rotates to in ${where}.`,
          context: { url },
        },
      );
    }
    const token = readTokenResponse(result.body, url, auth.default_token_expiration);
    redactor.add(token.accessToken);
    if (token.refreshToken !== undefined && token.refreshToken !== held.token) {
      redactor.add(token.refreshToken);
      held = { token: token.refreshToken, from: "kept" };
      await keep(token.refreshToken);
    } else if (held.from === "configured" && staleKept) {
      staleKept = false;
      await store?.remove(key).catch(() => {
        // Left behind, it is refused or ignored next time as it was now.
      });
    }
    return { value: token.accessToken, lifetimeMs: token.lifetimeMs };
  }, context.now);

  /** Keeps a rotated refresh token; the run goes on if that fails (its access token works), with a warning for the next. */
  const keep = async (refreshToken: string): Promise<void> => {
    try {
      await store?.write(key, { refresh_token: refreshToken, configured_sha256: configuredSha256 });
      staleKept = false;
    } catch (error) {
      context.warn(
        `Cannot keep the refresh token ${url} rotated to in ${where}: ${redactor.redact(messageOf(error))}. This run goes on; the next one needs a new refresh token unless the file can be written.`,
      );
    }
  };

  return {
    type: "oauth2_refresh_token",
    secretNames: secretNamesOf(auth.client_id, auth.client_secret, auth.refresh_token),
    apply: async (request, signal) =>
      withRequest(request, { headers: { ...request.headers, authorization: `Bearer ${await tokens.current(signal)}` } }),
    refresh: () => {
      tokens.invalidate();
      return true;
    },
  };
}

// internal

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function nameOf(auth: RefreshTokenAuth): string {
  return typeof auth.refresh_token === "string" ? "" : ` (secret "${auth.refresh_token.name}")`;
}
