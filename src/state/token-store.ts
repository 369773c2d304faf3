// Refresh tokens an OAuth endpoint rotated to, kept beside the database for the next runs:
// `<database>.tokens/<pipeline>.<key>.json`, mode 600 in a folder of mode 700, replaced atomically.
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { RestloadError, messageOf } from "../errors.ts";
import type { RefreshTokenStore, StoredRefreshToken } from "../extract/http/auth/refresh-token-store.ts";

/** The folder of a database's kept tokens: `<database>.tokens`, as the status file is `<database>.<dataset>.status.json`. */
export function tokenStoreDir(database: string): string {
  return `${database}.tokens`;
}

/**
 * The kept refresh tokens of `pipeline` loading `database`. `key` names one token endpoint and
 * client (oauth2-refresh-token.ts makes it from a hash, so the name gives nothing away).
 */
export function fileTokenStore(database: string, pipeline: string): RefreshTokenStore {
  const dir = tokenStoreDir(database);
  const fileOf = (key: string) => join(dir, `${pipeline}.${key}.json`);
  return {
    where: fileOf,
    async read(key) {
      let text: string;
      try {
        text = await readFile(fileOf(key), "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new RestloadError("E_IO", `Cannot read the kept refresh token ${fileOf(key)}: ${messageOf(error)}`, {
          hint: "The user running restload must be able to read and write the folder beside the database.",
        });
      }
      // A file that is not what this module writes counts as none: the configured token is used,
      // and the next rotation replaces it.
      try {
        const stored = JSON.parse(text) as Partial<StoredRefreshToken>;
        if (typeof stored.refresh_token === "string" && stored.refresh_token !== "" && typeof stored.configured_sha256 === "string")
          return { refresh_token: stored.refresh_token, configured_sha256: stored.configured_sha256 };
      } catch {
        // Not JSON.
      }
      return undefined;
    },
    async write(key, token) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = fileOf(key);
      const temp = `${file}.${process.pid}.tmp`;
      try {
        await rm(temp, { force: true });
        writeDurably(temp, `${JSON.stringify({ ...token, updated_at: new Date().toISOString() }, null, 2)}\n`);
        await rename(temp, file);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async remove(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}

// internal

/**
 * Creates `file` with mode 600 and flushes it to disk before the rename: the endpoint has already
 * invalidated the previous token, so this one must survive a crash.
 */
function writeDurably(file: string, text: string): void {
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
