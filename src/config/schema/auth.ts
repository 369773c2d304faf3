// `auth`: bearer, api_key, http_basic, oauth2_client_credentials; a table with only `token` is bearer.
import * as v from "valibot";
import { anyValue, has, oneOf, secretText, table, text } from "./_kit.ts";
import { seconds } from "./_seconds.ts";
import { describe, isTable } from "../references.ts";

export const authTypes = ["bearer", "api_key", "http_basic", "oauth2_client_credentials"] as const;

const bearer = table({ type: v.literal("bearer"), token: secretText });
const apiKey = table({
  type: v.literal("api_key"),
  name: v.optional(text, "Authorization"),
  api_key: secretText,
  location: v.optional(oneOf(["header", "query", "cookie"]), "header"),
});
const httpBasic = table({ type: v.literal("http_basic"), username: secretText, password: v.optional(secretText, "") });
const oauth2 = table({
  type: v.literal("oauth2_client_credentials"),
  access_token_url: text,
  client_id: secretText,
  client_secret: secretText,
  access_token_request_data: v.optional(v.record(v.string(), anyValue), {}),
  default_token_expiration: v.optional(seconds("above 0"), 3600),
});
const bearerShorthand = v.pipe(
  table({ token: secretText }),
  v.transform((auth) => ({ type: "bearer" as const, token: auth.token })),
);

const byType = { bearer, api_key: apiKey, http_basic: httpBasic, oauth2_client_credentials: oauth2 } as const;
const typeField = table({ type: oneOf(authTypes, "an auth type:") });

export const AuthSchema = v.lazy((input) => {
  if (!isTable(input))
    return v.custom<never>(
      () => false,
      () => `expected an auth table such as { type = "bearer", token = { secret = "NAME" } }, found ${describe(input)}`,
    );
  if (!has(input, "type")) return bearerShorthand;
  const type = input.type;
  return typeof type === "string" && type in byType ? byType[type as keyof typeof byType] : v.looseObject({ type: typeField.entries.type });
}) as v.LazySchema<typeof bearer | typeof apiKey | typeof httpBasic | typeof oauth2 | typeof bearerShorthand>;

export type Auth = v.InferOutput<typeof AuthSchema>;
