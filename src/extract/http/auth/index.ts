// Credentials for a request: one small object per auth type, all behind one interface.
import type { Redactor } from "../../../config/redact.ts";
import type { SecretRef } from "../../../config/references.ts";
import type { Auth } from "../../../config/schema/auth.ts";
import type { HttpRequest } from "../request.ts";
import { apiKeyAuth } from "./api-key.ts";
import { basicAuth } from "./basic.ts";
import { bearerAuth } from "./bearer.ts";
import { hookAuth } from "./hook.ts";
import { oauth2Auth } from "./oauth2.ts";
import { oauth2RefreshTokenAuth } from "./oauth2-refresh-token.ts";
import type { RefreshTokenStore } from "./refresh-token-store.ts";
import type { TokenFetcher } from "./token-endpoint.ts";

export interface Authenticator {
  readonly type: Auth["type"];
  /** Adds credentials to a request bound for a trusted origin (may fetch a token first); called for every attempt. */
  apply(request: HttpRequest, signal?: AbortSignal): Promise<HttpRequest>;
  /**
   * After a 401 to `rejected` (the request as sent, credentials included): drop the cached
   * credentials if they are still the ones it carried; true when a retry with fresh ones makes
   * sense (the client retries once).
   */
  refresh(rejected: HttpRequest): boolean;
  /** The secrets involved, named in the hint of a 401 or 403. */
  readonly secretNames: readonly string[];
  /** The hint of a 401 or 403 when naming the secrets does not fit (an auth hook has none). */
  readonly refusedHint?: string;
}

export interface AuthContext {
  /** A secret's value by its reference. */
  readonly secret: (value: string | SecretRef) => string;
  readonly redactor: Redactor;
  readonly fetchToken: TokenFetcher;
  readonly now: () => number;
  /** The pipeline file's folder, which an auth hook's module path is relative to. */
  readonly baseDir: string;
  /**
   * Where rotated refresh tokens are kept for the next grants and runs, shared by the
   * authenticators and processes using it; without one they live as long as the authenticator.
   */
  readonly tokenStore?: RefreshTokenStore | undefined;
  /** Reports something the auth worked around (a kept refresh token refused); never given a secret. */
  readonly warn: (message: string) => void;
}

/** The authenticator of a planned auth table. */
export function createAuth(auth: Auth, context: AuthContext): Authenticator {
  switch (auth.type) {
    case "bearer":
      return bearerAuth(auth, context);
    case "api_key":
      return apiKeyAuth(auth, context);
    case "http_basic":
      return basicAuth(auth, context);
    case "oauth2_client_credentials":
      return oauth2Auth(auth, context);
    case "oauth2_refresh_token":
      return oauth2RefreshTokenAuth(auth, context);
    case "hook":
      return hookAuth(auth, context);
  }
}

/** Names of the secrets referenced by `values`. */
export function secretNamesOf(...values: (string | SecretRef)[]): string[] {
  return values.filter((value): value is SecretRef => typeof value !== "string").map((ref) => ref.name);
}
