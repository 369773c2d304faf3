// `oauth2_refresh_token`: access tokens from the refresh-token grant (RFC 6749 §6), renewed shortly
// before they expire and once after a 401. A refresh token the endpoint rotates to is kept (beside
// the database) for every later grant of the same client and chain, in this process and the next
// ones; each grant reads it afresh and spends it under the store's lock, so no token is sent twice.
import { createHash } from "node:crypto";
import type { Auth } from "../../../config/schema/auth.ts";
import { RestloadError, messageOf } from "../../../errors.ts";
import type { ResponseAction } from "../client.ts";
import { withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";
import { memoryTokenStore } from "./refresh-token-store.ts";
import { AccessTokenCache, type FetchedToken, NobodyWaits, bearerOf } from "./token-cache.ts";
import { type TokenResult, clientBasic, clientRefusedHint, readTokenResponse, refreshTokenOf } from "./token-endpoint.ts";

type RefreshTokenAuth = Extract<Auth, { type: "oauth2_refresh_token" }>;

/**
 * A refused refresh token: RFC 6749 §5.2's `invalid_grant` (Google, Salesforce, Xero, …) and
 * HubSpot's `BAD_REFRESH_TOKEN`. Anything else the endpoint refuses (a wrong client secret) fails
 * as it is, with the endpoint's answer quoted.
 */
const refusals: readonly ResponseAction[] = [
  { status_code: [400, 401], content: "invalid_grant" },
  { status_code: [400, 401], content: "BAD_REFRESH_TOKEN" },
];

/** Which refresh token a grant sends. */
type Held = { readonly token: string; readonly from: "configured" | "kept" };

/** At most this many grants per access token: the kept token, the kept one again if another process replaced it meanwhile, the configured one. */
const maxGrants = 3;

export function oauth2RefreshTokenAuth(auth: RefreshTokenAuth, context: AuthContext): Authenticator {
  const { redactor } = context;
  const store = context.tokenStore ?? memoryTokenStore();
  const clientId = context.secret(auth.client_id);
  const clientSecret = context.secret(auth.client_secret);
  const configured = context.secret(auth.refresh_token);
  const basic = clientBasic(clientId, clientSecret);
  for (const value of [clientSecret, configured, basic]) redactor.add(value);
  const url = redactor.redact(auth.access_token_url);
  const configuredSha256 = sha256(configured);
  // One kept token per token endpoint, client and chain of rotations (the configured token it
  // started from), shared by every auth table and pipeline using them with this database; the
  // file name gives none of them away. Two users' authorizations of one app are two chains.
  const key = sha256(`${auth.access_token_url}\n${clientId}\n${configured}`).slice(0, 16);
  const where = store.where(key);
  const place = typeof auth.refresh_token === "string" ? "refresh_token in the pipeline file" : `the secret "${auth.refresh_token.name}"`;

  /** Refresh tokens the endpoint refused in this process: never sent again. */
  const refused = new Set<string>();
  let lastRefusal = 0;

  const grant = (refreshToken: string): Promise<TokenResult> => {
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
      {
        rejectedWhen: refusals,
        refusedHint: clientRefusedHint(auth.client_id, auth.client_secret),
        sendOnce: {
          hint: `The endpoint may have spent the refresh token before the answer was lost, so the grant was not sent again. Rerun; if the endpoint then refuses the refresh token, authorize again and put the new one in ${place}.`,
        },
      },
    );
  };

  /** Keeps a rotated refresh token; the run goes on if that fails (its access token works), with a warning for the next. */
  const keep = async (refreshToken: string): Promise<void> => {
    try {
      await store.write(key, { refresh_token: refreshToken, configured_sha256: configuredSha256 });
    } catch (error) {
      context.warn(
        `Cannot keep the refresh token ${url} rotated to in ${where}: ${redactor.redact(messageOf(error))}. This run goes on; the next one needs a new refresh token unless the file can be written.`,
      );
    }
  };

  /** What a granted answer gives: its rotated refresh token is kept before anything else is checked. */
  const accept = async (body: unknown, held: Held, fileHeld: boolean): Promise<FetchedToken> => {
    const rotated = refreshTokenOf(body);
    if (rotated !== undefined && rotated !== held.token) {
      redactor.add(rotated);
      await keep(rotated);
    } else if (held.from === "configured" && fileHeld) {
      // The file holds a refused token (or another chain's): the configured one works and is not rotated.
      await store.remove(key).catch(() => {
        // Left behind, it is refused or ignored next time as it was now.
      });
    }
    const token = readTokenResponse(body, url, auth.default_token_expiration);
    redactor.add(token.accessToken);
    return { value: token.accessToken, lifetimeMs: token.lifetimeMs };
  };

  const tokens = new AccessTokenCache(
    (begin) =>
      store.exclusive(key, async () => {
        let triedKept = false;
        for (let grants = 0; grants < maxGrants; grants++) {
          // Read afresh for every grant, the first and a fallback alike: another process, or another
          // auth table of this client, may have rotated the token since.
          const kept = await store.read(key);
          const keptToken = kept?.configured_sha256 === configuredSha256 ? kept.refresh_token : undefined;
          if (keptToken !== undefined) redactor.add(keptToken);
          const held: Held | undefined =
            keptToken !== undefined && !refused.has(keptToken)
              ? { token: keptToken, from: "kept" }
              : refused.has(configured)
                ? undefined
                : { token: configured, from: "configured" };
          if (held === undefined) break;
          if (held.from === "configured" && triedKept)
            context.warn(
              `The token endpoint ${url} refused the refresh token kept from an earlier rotation (${where}) with ${lastRefusal}; trying the configured refresh token${nameOf(auth)} once.`,
            );
          if (grants === 0 && !begin()) throw new NobodyWaits();
          const result = await grant(held.token);
          if (!result.rejected) return accept(result.body, held, kept !== undefined);
          refused.add(held.token);
          lastRefusal = result.status;
          if (held.from === "kept") triedKept = true;
        }
        throw new RestloadError(
          "E_AUTH",
          `Cannot refresh the access token at ${url} as the token endpoint refused the ${triedKept ? "kept and the configured refresh tokens" : "configured refresh token"} (${lastRefusal}: expired, revoked or already used)`,
          {
            hint: `Authorize again to get a new refresh token and put it in ${place}; restload starts from it and keeps the tokens the endpoint rotates to.`,
            context: { url },
          },
        );
      }),
    context.now,
  );

  return {
    type: "oauth2_refresh_token",
    secretNames: secretNamesOf(auth.client_id, auth.client_secret, auth.refresh_token),
    apply: async (request, signal) =>
      withRequest(request, { headers: { ...request.headers, authorization: `Bearer ${await tokens.current(signal)}` } }),
    refresh: (rejected) => {
      tokens.invalidate(bearerOf(rejected.headers));
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
