// `bearer`: `Authorization: Bearer <token>`.
import type { Auth } from "../../../config/schema/auth.ts";
import { withRequest } from "../request.ts";
import { type AuthContext, type Authenticator, secretNamesOf } from "./index.ts";

export function bearerAuth(auth: Extract<Auth, { type: "bearer" }>, context: AuthContext): Authenticator {
  const token = context.secret(auth.token);
  context.redactor.add(token);
  return {
    type: "bearer",
    secretNames: secretNamesOf(auth.token),
    apply: async (request) => withRequest(request, { headers: { ...request.headers, authorization: `Bearer ${token}` } }),
    refresh: () => false,
  };
}
