// `oauth2_client_credentials`: a token fetched from access_token_url, cached, refreshed before it
// expires and once after a 401.
import type { Auth } from "../../../config/schema/auth.ts";
import { RestloadError } from "../../../errors.ts";
import { type HttpRequest, withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";

/** Sends the token request (retries included, no credentials added) and returns the parsed JSON. */
export type TokenFetcher = (request: HttpRequest, signal?: AbortSignal) => Promise<unknown>;

/** A token is renewed this long before it expires. */
const renewMarginMs = 60_000;

export function oauth2Auth(auth: Extract<Auth, { type: "oauth2_client_credentials" }>, context: AuthContext): Authenticator {
  const clientId = context.secret(auth.client_id);
  const clientSecret = context.secret(auth.client_secret);
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
  context.redactor.add(clientSecret);
  context.redactor.add(basic);
  let token: { value: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const fetchToken = async (signal?: AbortSignal): Promise<string> => {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    for (const [key, value] of Object.entries(auth.access_token_request_data)) form.set(key, String(value));
    const body = await context.fetchToken(
      {
        method: "POST",
        url: new URL(auth.access_token_url),
        headers: { authorization: `Basic ${basic}`, accept: "application/json" },
        body: form.toString(),
        contentType: "application/x-www-form-urlencoded",
      },
      signal,
    );
    const record = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
    if (typeof record.access_token !== "string" || record.access_token === "") {
      throw new RestloadError("E_AUTH", `Cannot use the token response of ${auth.access_token_url} as it has no access_token`, {
        hint: "Check access_token_url and the client credentials.",
      });
    }
    context.redactor.add(record.access_token);
    const seconds = typeof record.expires_in === "number" && record.expires_in > 0 ? record.expires_in : auth.default_token_expiration;
    token = { value: record.access_token, expiresAt: context.now() + seconds * 1000 };
    return record.access_token;
  };

  const current = async (signal?: AbortSignal): Promise<string> => {
    if (token && context.now() < token.expiresAt - renewMarginMs) return token.value;
    // Concurrent requests share one token request.
    pending ??= fetchToken(signal).finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return {
    type: "oauth2_client_credentials",
    secretNames: secretNamesOf(auth.client_id, auth.client_secret),
    apply: async (request, signal) =>
      withRequest(request, { headers: { ...request.headers, authorization: `Bearer ${await current(signal)}` } }),
    refresh: () => {
      token = undefined;
      return true;
    },
  };
}
