// Where `oauth2_refresh_token` keeps the refresh token an endpoint rotated to, for the next runs.
// The extract stage defines what it needs; the state stage keeps the file (state/token-store.ts).

/** A refresh token the token endpoint handed out in place of an earlier one. */
export interface StoredRefreshToken {
  readonly refresh_token: string;
  /**
   * SHA-256 (hex) of the configured refresh token the chain of rotations started from: when the
   * configured one changes (the user authorized again), the kept one is ignored.
   */
  readonly configured_sha256: string;
}

export interface RefreshTokenStore {
  /** The token kept under `key` (a name for one token endpoint and client), if any. */
  read(key: string): Promise<StoredRefreshToken | undefined>;
  /** Keeps `token` under `key`, replacing what was kept; never leaves a half-written file. */
  write(key: string, token: StoredRefreshToken): Promise<void>;
  /** Forgets what is kept under `key`. */
  remove(key: string): Promise<void>;
  /** Where `key` is kept, for messages (a path; never a token). */
  where(key: string): string;
}
