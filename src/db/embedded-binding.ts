// Loads the DuckDB native binding that the compiled binary carries inside itself.
//
// `duckdb.node` finds `libduckdb.so` through RUNPATH $ORIGIN, so both files must sit side by side
// on a real file system before `process.dlopen`. The binary carries them stripped and
// zstd-compressed (16.4 MB instead of 70.5 MB); they are unpacked once into a per-version cache
// directory, checked by SHA-256 of the unpacked bytes (a flipped byte is caught, not only a wrong
// size), and replaced by atomic rename when missing or damaged, so processes starting together are
// safe. Hashing the 60 MB library costs 35-100 ms, so a verified file gets a stamp of its identity
// (device, inode, size, mtime and ctime in nanoseconds): while the stamp matches, the file has not
// been written since it was hashed (any write moves ctime, which no user can set back), and the
// hash is skipped.
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import { RestloadError, messageOf } from "../errors.ts";

export interface EmbeddedFile {
  /** The file name the binding expects on disk, e.g. `libduckdb.so`. */
  readonly name: string;
  /** Where the bytes can be read now (inside the binary's embedded file system). */
  readonly source: string;
  /** How `source` holds the file: as is, or as one zstd frame. */
  readonly encoding: "none" | "zstd";
  /** Size in bytes of the file as written to the cache (unpacked). */
  readonly size: number;
  /** Lower-case hex SHA-256 of the file as written to the cache (unpacked), computed at build time. */
  readonly sha256: string;
}

export interface EmbeddedBinding {
  /** Names the cache entry, e.g. `1.5.6-r.1`. */
  readonly version: string;
  /** The files; the one named `duckdb.node` is loaded. */
  readonly files: readonly EmbeddedFile[];
}

type Env = Readonly<Record<string, string | undefined>>;

export interface StampOptions {
  /** A verified file is stamped once its ctime is this old (default 2 s); tests pass 0. */
  readonly stampAfterMs?: number;
}

/** Extracts (if needed), verifies and loads the binding; returns the addon's exports. */
export function loadEmbeddedBinding(binding: EmbeddedBinding, env: Env = process.env): unknown {
  const dir = prepareBindingDirectory(binding, env);
  const addon = { exports: {} as unknown };
  process.dlopen(addon, join(dir, "duckdb.node"));
  return addon.exports;
}

/**
 * Makes sure every file of `binding` sits verified in its cache directory and returns that directory.
 * Tries the cache roots in order ($RESTLOAD_CACHE_DIR, $CACHE_DIRECTORY, $XDG_CACHE_HOME or
 * ~/.cache, the temp directory) and uses the first one it can write.
 */
export function prepareBindingDirectory(binding: EmbeddedBinding, env: Env = process.env, options: StampOptions = {}): string {
  const entry = `duckdb-${binding.version}-${entryHash(binding)}`;
  const failures: string[] = [];
  for (const root of cacheRoots(env)) {
    const dir = join(root, entry);
    try {
      // The root too: in a root another user may write to, they could move our checked entry
      // aside and put theirs in its place before it is loaded.
      ensureDirectory(root);
      ensureDirectory(dir);
      for (const file of binding.files) ensureFile(dir, file, options.stampAfterMs ?? 2000);
      return dir;
    } catch (error) {
      failures.push(`${dir}: ${messageOf(error)}`);
    }
  }
  throw new RestloadError("E_BINDING", `Cannot prepare the embedded DuckDB library in any cache directory (${failures.join("; ")})`, {
    hint: "Set RESTLOAD_CACHE_DIR to a directory this user can write.",
  });
}

/** The cache roots, most specific first; each already names restload's own directory. */
export function cacheRoots(env: Env): string[] {
  const roots: string[] = [];
  if (env.RESTLOAD_CACHE_DIR) roots.push(env.RESTLOAD_CACHE_DIR);
  // systemd's CacheDirectory= may list several directories separated by ':'; the first is ours.
  const systemd = env.CACHE_DIRECTORY?.split(":")[0];
  if (systemd) roots.push(systemd);
  const home = env.HOME ?? safeHomedir();
  const xdg = env.XDG_CACHE_HOME ?? (home ? join(home, ".cache") : undefined);
  if (xdg) roots.push(join(xdg, "restload"));
  roots.push(join(tmpdir(), `restload-${process.getuid?.() ?? "user"}`));
  return roots;
}

/** Lower-case hex SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// internal

// Named by the checksums of the unpacked files: an entry written by a build that carried other
// bytes (the unstripped library of older builds) is never taken for this one.
function entryHash(binding: EmbeddedBinding): string {
  return sha256(new TextEncoder().encode(binding.files.map((file) => file.sha256).join(":"))).slice(0, 12);
}

function safeHomedir(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

function ensureDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new Error("not a directory");
  // A shared directory (the temp fallback) must not let another user swap the library in.
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) throw new Error(`owned by uid ${stat.uid}, not ${uid}`);
  if ((stat.mode & 0o022) !== 0) throw new Error("writable by group or others");
}

function ensureFile(dir: string, file: EmbeddedFile, stampAfterMs: number): void {
  const target = join(dir, file.name);
  if (verified(target, file.sha256, stampAfterMs)) return;
  const bytes = unpack(file);
  if (bytes.length !== file.size || sha256(bytes) !== file.sha256) {
    throw new Error(`the embedded ${file.name} does not match its build checksum; the binary is damaged`);
  }
  const temp = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fd = openSync(temp, "wx", 0o755);
    try {
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // rename() replaces atomically: a process starting now sees the old file or the new one whole.
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  if (!matches(target, file.sha256)) throw new Error(`${file.name} does not verify after writing`);
}

/** The file's bytes as they go to the cache. */
function unpack(file: EmbeddedFile): Uint8Array {
  const stored = readFileSync(file.source);
  if (file.encoding === "none") return stored;
  try {
    // One output buffer of the known size: 260-470 ms for the 60 MB library, against 450-790 ms
    // with node:zlib's default 64 KiB chunks joined at the end (or the runtime's own zstd call).
    // A truncated frame unpacks without an error under Bun (to fewer bytes): the size and checksum
    // checks after this are what refuse it.
    const size = Math.max(64, file.size);
    return zstdDecompressSync(stored, { chunkSize: size, maxOutputLength: size });
  } catch (error) {
    throw new Error(`the embedded ${file.name} cannot be unpacked (${messageOf(error)}); the binary is damaged`);
  }
}

/** The file is there with the expected hash: by its stamp, or hashed (and stamped) now. */
function verified(path: string, expected: string, stampAfterMs: number): boolean {
  let stat;
  try {
    stat = statSync(path, { bigint: true });
  } catch {
    return false;
  }
  const identity = `${expected}:${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  const stamp = `${path}.verified`;
  try {
    if (readFileSync(stamp, "utf8") === identity) return true;
  } catch {
    // No stamp yet.
  }
  if (!matches(path, expected)) return false;
  // Stamped only once the file is a little old: a later write then gets a later ctime even on a
  // file system with coarse timestamps.
  if (Date.now() - Number(stat.ctimeMs) >= stampAfterMs) {
    const temp = `${stamp}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      writeFileSync(temp, identity, { mode: 0o600 });
      renameSync(temp, stamp);
    } catch {
      // Without a stamp the next start hashes again.
    } finally {
      rmSync(temp, { force: true });
    }
  }
  return true;
}

/** SHA-256 of a file read in 1 MiB chunks: checking the 60 MB library must not cost 60 MB of memory. */
function matches(path: string, expected: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let read = readSync(fd, chunk, 0, chunk.length, null); read > 0; read = readSync(fd, chunk, 0, chunk.length, null)) {
      hash.update(chunk.subarray(0, read));
    }
    return hash.digest("hex") === expected;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
