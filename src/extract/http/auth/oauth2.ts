// `oauth2_client_credentials`: a token fetched from access_token_url, cached, renewed shortly before
// the `expires_in` it came with, and once after a 401.
import type { Auth } from "../../../config/schema/auth.ts";
import { withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";
import { AccessTokenCache, bearerOf } from "./token-cache.ts";
import { clientBasic, clientRefusedHint, readTokenResponse } from "./token-endpoint.ts";

export function oauth2Auth(auth: Extract<Auth, { type: "oauth2_client_credentials" }>, context: AuthContext): Authenticator {
  const clientId = context.secret(auth.client_id);
  const clientSecret = context.secret(auth.client_secret);
  const basic = clientBasic(clientId, clientSecret);
  context.redactor.add(clientSecret);
  context.redactor.add(basic);
  const url = context.redactor.redact(auth.access_token_url);

  // Nothing is spent by asking again, so a stopped request may leave the fetch to itself (it never calls `begin`).
  const tokens = new AccessTokenCache(async () => {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    for (const [key, value] of Object.entries(auth.access_token_request_data)) form.set(key, String(value));
    const result = await context.fetchToken(
      {
        method: "POST",
        url: new URL(auth.access_token_url),
        headers: { authorization: `Basic ${basic}`, accept: "application/json" },
        body: form.toString(),
        contentType: "application/x-www-form-urlencoded",
      },
      { refusedHint: clientRefusedHint(auth.client_id, auth.client_secret) },
    );
    const token = readTokenResponse(result.rejected ? undefined : result.body, url, auth.default_token_expiration);
    context.redactor.add(token.accessToken);
    return { value: token.accessToken, lifetimeMs: token.lifetimeMs };
  }, context.now);

  return {
    type: "oauth2_client_credentials",
    secretNames: secretNamesOf(auth.client_id, auth.client_secret),
    apply: async (request, signal) =>
      withRequest(request, { headers: { ...request.headers, authorization: `Bearer ${await tokens.current(signal)}` } }),
    refresh: (rejected) => {
      tokens.invalidate(bearerOf(rejected.headers));
      return true;
    },
  };
}
