// `http_basic`: `Authorization: Basic base64(username:password)`.
import type { Auth } from "../../../config/schema/auth.ts";
import { withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";

export function basicAuth(auth: Extract<Auth, { type: "http_basic" }>, context: AuthContext): Authenticator {
  const username = context.secret(auth.username);
  const password = context.secret(auth.password);
  const encoded = Buffer.from(`${username}:${password}`, "utf8").toString("base64");
  // The encoded pair reveals both parts: it is a secret of its own.
  context.redactor.add(encoded);
  if (password) context.redactor.add(password);
  return {
    type: "http_basic",
    secretNames: secretNamesOf(auth.username, auth.password),
    refresh: () => false,
    apply: async (request) => withRequest(request, { headers: { ...request.headers, authorization: `Basic ${encoded}` } }),
  };
}
