// Where `oauth2_refresh_token` keeps the refresh token an endpoint rotated to, for the next grants and runs.
// The extract stage defines what it needs; the state stage keeps the file (state/token-store.ts).

/** A refresh token the token endpoint handed out in place of an earlier one. */
export interface StoredRefreshToken {
  readonly refresh_token: string;
  /**
   * SHA-256 (hex) of the configured refresh token the chain of rotations started from: a kept
   * token of another chain is never used in place of the configured one.
   */
  readonly configured_sha256: string;
}

export interface RefreshTokenStore {
  /**
   * Runs `use` as the only user of the refresh token kept under `key`: no other authenticator of
   * this process, and no other process keeping its tokens in the same place, reads or spends it
   * meanwhile. `read`, `write` and `remove` are called inside it.
   */
  exclusive<T>(key: string, use: () => Promise<T>): Promise<T>;
  /** The token kept under `key` (a name for one token endpoint, client and chain), if any. */
  read(key: string): Promise<StoredRefreshToken | undefined>;
  /** Keeps `token` under `key`, replacing what was kept; never leaves a half-written file. */
  write(key: string, token: StoredRefreshToken): Promise<void>;
  /** Forgets what is kept under `key`. */
  remove(key: string): Promise<void>;
  /** Where `key` is kept, for messages (a path; never a token). */
  where(key: string): string;
}

/** A store that keeps tokens as long as the process lives (no database to keep them beside). */
export function memoryTokenStore(): RefreshTokenStore {
  const tokens = new Map<string, StoredRefreshToken>();
  const tails = new Map<string, Promise<unknown>>();
  return {
    where: () => "memory (no token store)",
    async exclusive(key, use) {
      const mine = (tails.get(key) ?? Promise.resolve()).then(() => use());
      const tail = mine.catch(() => {});
      tails.set(key, tail);
      try {
        return await mine;
      } finally {
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
    read: async (key) => tokens.get(key),
    write: async (key, token) => void tokens.set(key, token),
    remove: async (key) => void tokens.delete(key),
  };
}
