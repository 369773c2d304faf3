// `auth`: bearer, api_key, http_basic, oauth2_client_credentials, oauth2_refresh_token, and a hook
// (`{ module, export }`) of the user's own file; a table with only `token` is bearer.
import * as v from "valibot";
import { anyValue, has, hook as hookKeys, nonEmptyText, oneOf, secretText, table, text } from "./_kit.ts";
import { seconds } from "./_seconds.ts";
import { describe, isTable } from "../references.ts";

export const authTypes = ["bearer", "api_key", "http_basic", "oauth2_client_credentials", "oauth2_refresh_token", "hook"] as const;

const bearer = table({ type: v.literal("bearer"), token: secretText });
const apiKey = table({
  type: v.literal("api_key"),
  name: v.optional(text, "Authorization"),
  api_key: secretText,
  location: v.optional(oneOf(["header", "query", "cookie"]), "header"),
});
const httpBasic = table({ type: v.literal("http_basic"), username: secretText, password: v.optional(secretText, "") });
const tokenRequest = {
  access_token_request_data: v.optional(v.record(v.string(), anyValue), {}),
  default_token_expiration: v.optional(seconds("above 0"), 3600),
};
const oauth2 = table({
  type: v.literal("oauth2_client_credentials"),
  access_token_url: text,
  client_id: secretText,
  client_secret: secretText,
  ...tokenRequest,
});
const oauth2RefreshToken = table({
  type: v.literal("oauth2_refresh_token"),
  access_token_url: text,
  client_id: secretText,
  // A public client (PKCE) has no secret: the form then carries only client_id.
  client_secret: v.optional(secretText, ""),
  refresh_token: secretText,
  ...tokenRequest,
  // Where the client credentials go: the form body (RFC 6749 §2.3.1, what Google, Salesforce and
  // HubSpot document) or an `Authorization: Basic` header (Xero).
  client_auth: v.optional(oneOf(["body", "basic"]), "body"),
});
const hook = table({ type: v.literal("hook"), module: nonEmptyText, export: nonEmptyText });
const bearerShorthand = v.pipe(
  table({ token: secretText }),
  v.transform((auth) => ({ type: "bearer" as const, token: auth.token })),
);
const hookShorthand = v.pipe(
  hookKeys,
  v.transform((auth) => ({ type: "hook" as const, module: auth.module, export: auth.export })),
);

const byType = {
  bearer,
  api_key: apiKey,
  http_basic: httpBasic,
  oauth2_client_credentials: oauth2,
  oauth2_refresh_token: oauth2RefreshToken,
  hook,
} as const;
const typeField = table({ type: oneOf(authTypes, "an auth type:") });

export const AuthSchema = v.lazy((input) => {
  if (!isTable(input))
    return v.custom<never>(
      () => false,
      () => `expected an auth table such as { type = "bearer", token = { secret = "NAME" } }, found ${describe(input)}`,
    );
  if (!has(input, "type")) return has(input, "module") ? hookShorthand : bearerShorthand;
  const type = input.type;
  return typeof type === "string" && type in byType ? byType[type as keyof typeof byType] : v.looseObject({ type: typeField.entries.type });
}) as v.LazySchema<
  | typeof bearer
  | typeof apiKey
  | typeof httpBasic
  | typeof oauth2
  | typeof oauth2RefreshToken
  | typeof hook
  | typeof bearerShorthand
  | typeof hookShorthand
>;

export type Auth = v.InferOutput<typeof AuthSchema>;
