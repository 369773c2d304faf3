// `api_key`: the key in a header (default `Authorization`), a query parameter or a cookie.
import type { Auth } from "../../../config/schema/auth.ts";
import { withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";

export function apiKeyAuth(auth: Extract<Auth, { type: "api_key" }>, context: AuthContext): Authenticator {
  const key = context.secret(auth.api_key);
  context.redactor.add(key);
  return {
    type: "api_key",
    secretNames: secretNamesOf(auth.api_key),
    refresh: () => false,
    apply: async (request) => {
      switch (auth.location) {
        case "header":
          return withRequest(request, { headers: { ...request.headers, [auth.name.toLowerCase()]: key } });
        case "query": {
          const url = new URL(request.url);
          url.searchParams.set(auth.name, key);
          return withRequest(request, { url });
        }
        case "cookie": {
          const cookie = `${auth.name}=${encodeURIComponent(key)}`;
          const existing = request.headers.cookie;
          return withRequest(request, { headers: { ...request.headers, cookie: existing ? `${existing}; ${cookie}` : cookie } });
        }
      }
    },
  };
}
