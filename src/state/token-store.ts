// Refresh tokens an OAuth endpoint rotated to, kept beside the database for the next grants and runs:
// `<database>.tokens/<key>.json`, mode 600 in a folder of mode 700, replaced atomically, and read,
// spent and replaced under a lock file (`<key>.lock`) that every restload process honours.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { RestloadError, messageOf } from "../errors.ts";
import type { RefreshTokenStore, StoredRefreshToken } from "../extract/http/auth/refresh-token-store.ts";
import { processAlive } from "../util/process-alive.ts";
import { fsyncDir } from "../util/fsync-dir.ts";
import { abandonedAfterMs, lockFile, takeLock } from "./file-lock.ts";

/** The folder of a database's kept tokens: `<database>.tokens`, as the status file is `<database>.<dataset>.status.json`. */
export function tokenStoreDir(database: string): string {
  return `${database}.tokens`;
}

/**
 * The kept refresh tokens of `database`, shared by every pipeline and process loading it. `key`
 * names one token endpoint, client and chain of rotations (oauth2-refresh-token.ts makes it from a
 * hash, so the name gives nothing away). `pipeline` names this process in the lock file, for
 * whoever finds it held.
 */
export function fileTokenStore(database: string, pipeline: string): RefreshTokenStore {
  const dir = resolve(tokenStoreDir(database));
  const fileOf = (key: string) => join(dir, `${key}.json`);
  return {
    where: fileOf,
    async exclusive(key, use) {
      const file = fileOf(key);
      // Within the process the lock file is never contended: its users queue here first.
      const mine = (inProcess.get(file) ?? Promise.resolve()).then(async () => {
        const release = await takeLock(`${join(dir, key)}.lock`, pipeline);
        try {
          promoteLeftover(file);
          return await use();
        } finally {
          release();
        }
      });
      const tail = mine.catch(() => {});
      inProcess.set(file, tail);
      try {
        return await mine;
      } finally {
        if (inProcess.get(file) === tail) inProcess.delete(file);
      }
    },
    async read(key) {
      const file = fileOf(key);
      let text: string | undefined;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        if (codeOf(error) !== "ENOENT")
          throw new RestloadError("E_IO", `Cannot read the kept refresh token ${file}: ${messageOf(error)}`, {
            hint: "The user running restload must be able to read and write the folder beside the database.",
          });
      }
      // A token this process could not write is the newest it knows, unless another process has
      // written the file since.
      const kept = unsaved.get(file);
      if (kept && kept.fileWas === text) return kept.token;
      unsaved.delete(file);
      // A file that is not what this module writes counts as none: the configured token is used,
      // and the next rotation replaces it.
      return text === undefined ? undefined : parseStored(text);
    },
    async write(key, token) {
      const file = fileOf(key);
      const temp = `${file}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        rmSync(temp, { force: true });
        writeDurably(temp, `${JSON.stringify({ ...token, updated_at: new Date().toISOString() }, null, 2)}\n`);
        renameSync(temp, file);
        fsyncDir(dir);
        unsaved.delete(file);
      } catch (error) {
        unsaved.set(file, { token, fileWas: textOrUndefined(file) });
        try {
          rmSync(temp, { force: true });
        } catch {
          // The folder refuses changes: the temp file was never made.
        }
        throw error;
      }
    },
    async remove(key) {
      rmSync(fileOf(key), { force: true });
      unsaved.delete(fileOf(key));
    },
  };
}

// internal

/** The queue of each kept-token file's users in this process (every store of the process shares it). */
const inProcess = new Map<string, Promise<unknown>>();
/** Tokens this process failed to write, with the file's text at that moment. */
const unsaved = new Map<string, { token: StoredRefreshToken; fileWas: string | undefined }>();

/**
 * A temp file a process killed between writing and renaming left holds the newest token (the
 * endpoint may already have spent the one in the file): it takes the file's place. Called under
 * the lock, so no live writer is between the two steps (one that is, or that wrote a moment ago,
 * is left alone).
 */
function promoteLeftover(file: string): void {
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return;
  }
  const prefix = `${basename(file)}.`;
  const leftovers = names.filter((name) => name.startsWith(prefix) && name.endsWith(".tmp")).map((name) => join(dirname(file), name));
  const candidates: { temp: string; updatedAt: string }[] = [];
  for (const temp of leftovers) {
    const found = lockFile(temp);
    const pid = Number(temp.slice(file.length + 1, -".tmp".length));
    if (found === undefined || (pid !== process.pid && processAlive(pid) && Date.now() - found.mtimeMs < abandonedAfterMs)) continue;
    const updatedAt = parseStored(found.text) === undefined ? undefined : updatedAtOf(found.text);
    // Cut short by the kill (never flushed): nothing to save.
    if (updatedAt === undefined) rmSync(temp, { force: true });
    else candidates.push({ temp, updatedAt });
  }
  const newest = candidates.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  if (newest === undefined) return;
  const current = textOrUndefined(file);
  if (current === undefined || parseStored(current) === undefined || newest.updatedAt >= (updatedAtOf(current) ?? "")) {
    renameSync(newest.temp, file);
    fsyncDir(dirname(file));
  }
  for (const { temp } of candidates) rmSync(temp, { force: true });
}

function parseStored(text: string): StoredRefreshToken | undefined {
  try {
    const stored = JSON.parse(text) as Partial<StoredRefreshToken>;
    if (typeof stored.refresh_token === "string" && stored.refresh_token !== "" && typeof stored.configured_sha256 === "string")
      return { refresh_token: stored.refresh_token, configured_sha256: stored.configured_sha256 };
  } catch {
    // Not JSON.
  }
  return undefined;
}

function updatedAtOf(text: string): string | undefined {
  try {
    const value = (JSON.parse(text) as { updated_at?: unknown }).updated_at;
    return typeof value === "string" ? value : "";
  } catch {
    return undefined;
  }
}

function textOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

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

/** Flushes a folder's entries (a rename) to disk; where a folder cannot be opened for that, the rename stands as it is. */

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}
