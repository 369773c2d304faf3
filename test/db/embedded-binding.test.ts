// The cache that the compiled binary unpacks its DuckDB binding into, on small stand-in files.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zstdCompressSync } from "node:zlib";
import { type EmbeddedBinding, cacheRoots, prepareBindingDirectory, sha256 } from "../../src/db/embedded-binding.ts";
import { RestloadError } from "../../src/errors.ts";
import { tempDir } from "../helpers.ts";

// Each test spawns nothing and takes milliseconds; the explicit limit only keeps a loaded machine
// from failing them on the runner's 5 s default.
const timeout = 30_000;

/**
 * Two small stand-in files playing duckdb.node and libduckdb.so, embedded zstd-compressed as the
 * binary embeds them (or as is); `seed` varies their bytes.
 */
function fakeBinding(encoding: "none" | "zstd" = "zstd", seed = 0): { binding: EmbeddedBinding; contents: Map<string, Uint8Array> } {
  const dir = tempDir("restload-embedded-");
  const contents = new Map<string, Uint8Array>();
  const files = ["duckdb.node", "libduckdb.so"].map((name, index) => {
    const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 31 + index * 7 + seed) % 251);
    contents.set(name, bytes);
    const source = join(dir, `embedded-${name}`);
    writeFileSync(source, encoding === "zstd" ? zstdCompressSync(bytes) : bytes);
    return { name, source, encoding, size: bytes.length, sha256: sha256(bytes) };
  });
  return { binding: { version: "9.9.9-test", files }, contents };
}

/** Runs `action` and returns the RestloadError it must throw. */
function thrownBy(action: () => unknown): RestloadError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(RestloadError);
  return thrown as RestloadError;
}

/** No entry under `root` holds a libduckdb.so. */
function expectNothingWritten(root: string): void {
  for (const entry of readdirSync(root)) {
    const path = join(root, entry);
    if (statSync(path).isDirectory()) expect(existsSync(join(path, "libduckdb.so"))).toBe(false);
  }
}

function expectIntact(dir: string, contents: Map<string, Uint8Array>): void {
  for (const [name, bytes] of contents) expect(sha256(readFileSync(join(dir, name)))).toBe(sha256(bytes));
  expect(
    readdirSync(dir)
      .filter((name) => !name.endsWith(".verified"))
      .sort(),
  ).toEqual([...contents.keys()].sort());
}

describe("embedded DuckDB binding cache", () => {
  test(
    "extracts every file into a private per-version directory under RESTLOAD_CACHE_DIR",
    () => {
      const { binding, contents } = fakeBinding();
      const root = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      expect(dir.startsWith(join(root, "duckdb-9.9.9-test-"))).toBe(true);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expectIntact(dir, contents);
    },
    timeout,
  );

  test(
    "a verified entry is reused as it is",
    () => {
      const { binding } = fakeBinding();
      const root = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      const before = statSync(join(dir, "libduckdb.so")).ino;
      prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      expect(statSync(join(dir, "libduckdb.so")).ino).toBe(before);
    },
    timeout,
  );

  test(
    "a truncated cache file is detected and replaced",
    () => {
      const { binding, contents } = fakeBinding();
      const root = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      truncateSync(join(dir, "libduckdb.so"), 1000);
      expect(prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root })).toBe(dir);
      expectIntact(dir, contents);
    },
    timeout,
  );

  test(
    "one flipped byte at the same size is detected and replaced",
    () => {
      const { binding, contents } = fakeBinding();
      const root = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      const path = join(dir, "duckdb.node");
      const damaged = readFileSync(path);
      damaged[40_000] = damaged[40_000]! ^ 0x01;
      writeFileSync(path, damaged);
      expect(statSync(path).size).toBe(64 * 1024);
      prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      expectIntact(dir, contents);
    },
    timeout,
  );

  test(
    "a verified file is stamped; a matching stamp is trusted without hashing again",
    () => {
      const { binding } = fakeBinding();
      const root = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }, { stampAfterMs: 0 });
      const path = join(dir, "libduckdb.so");
      // Extracted now: checked after writing, stamped by the next start that hashes it.
      expect(existsSync(`${path}.verified`)).toBe(false);
      prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }, { stampAfterMs: 0 });
      expect(readFileSync(`${path}.verified`, "utf8")).toStartWith(`${binding.files[1]!.sha256}:`);
      // Rewriting the stamp for a damaged file is what only someone able to write this private
      // directory could do: the stamp, matching, is believed (that is what saves the hash).
      const damaged = readFileSync(path);
      damaged[100] = damaged[100]! ^ 0x01;
      writeFileSync(path, damaged);
      const stat = statSync(path, { bigint: true });
      writeFileSync(`${path}.verified`, `${binding.files[1]!.sha256}:${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`);
      prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }, { stampAfterMs: 0 });
      expect(readFileSync(path)[100]).toBe(damaged[100]!);
    },
    timeout,
  );

  test(
    "a write to a stamped file is caught even with its size and mtime put back",
    () => {
      const { binding, contents } = fakeBinding();
      const root = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }, { stampAfterMs: 0 });
      prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }, { stampAfterMs: 0 });
      const path = join(dir, "duckdb.node");
      expect(existsSync(`${path}.verified`)).toBe(true);
      const before = statSync(path, { bigint: true });
      const reference = join(root, "reference");
      writeFileSync(reference, "");
      expect(Bun.spawnSync(["touch", "-r", path, reference]).exitCode).toBe(0);
      const damaged = readFileSync(path);
      damaged[40_000] = damaged[40_000]! ^ 0x01;
      writeFileSync(path, damaged);
      // touch -r copies the timestamps to the nanosecond: only ctime tells the write.
      expect(Bun.spawnSync(["touch", "-m", "-r", reference, path]).exitCode).toBe(0);
      const after = statSync(path, { bigint: true });
      expect([after.mtimeNs, after.size, after.ino]).toEqual([before.mtimeNs, before.size, before.ino]);
      prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }, { stampAfterMs: 0 });
      expectIntact(dir, contents);
    },
    timeout,
  );

  test(
    "falls back to the next cache root when one cannot be used",
    () => {
      const { binding, contents } = fakeBinding();
      const blocker = join(tempDir(), "a-file");
      writeFileSync(blocker, "not a directory");
      const systemd = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: join(blocker, "cache"), CACHE_DIRECTORY: systemd });
      expect(dir.startsWith(systemd)).toBe(true);
      expectIntact(dir, contents);
    },
    timeout,
  );

  test(
    "an entry directory writable by others is not trusted",
    () => {
      const { binding, contents } = fakeBinding();
      const shared = tempDir();
      const first = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: shared });
      chmodSync(first, 0o777);
      const fallback = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: shared, CACHE_DIRECTORY: fallback });
      expect(dir.startsWith(fallback)).toBe(true);
      expectIntact(dir, contents);
    },
    timeout,
  );

  test(
    "an embedded file whose unpacked bytes do not match the build checksum is refused and nothing is written",
    () => {
      const { binding } = fakeBinding();
      const file = binding.files[1]!;
      // A valid zstd frame of other bytes: only the checksum of the unpacked bytes can tell.
      const other = new Uint8Array(file.size).map((_, i) => (i * 31 + 8) % 251);
      other[5] = other[5]! ^ 0xff;
      writeFileSync(file.source, zstdCompressSync(other));
      const root = tempDir();
      const everyRoot = { RESTLOAD_CACHE_DIR: root, CACHE_DIRECTORY: root, XDG_CACHE_HOME: root, HOME: root };
      const thrown = thrownBy(() => prepareBindingDirectory(binding, everyRoot));
      expect(thrown.code).toBe("E_BINDING");
      expect(thrown.message).toContain("the embedded libduckdb.so does not match its build checksum; the binary is damaged");
      expectNothingWritten(root);
    },
    timeout,
  );

  test(
    "a truncated or corrupted compressed file is refused and nothing is written",
    () => {
      for (const damage of ["truncate", "garble"] as const) {
        const { binding } = fakeBinding();
        const source = binding.files[1]!.source;
        const packed = readFileSync(source);
        if (damage === "truncate") writeFileSync(source, packed.subarray(0, packed.length >> 1));
        else
          writeFileSync(
            source,
            packed.map((byte, i) => (i >= 4 ? byte ^ 0x5a : byte)),
          );
        const root = tempDir();
        const thrown = thrownBy(() =>
          prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root, CACHE_DIRECTORY: root, XDG_CACHE_HOME: root, HOME: root }),
        );
        expect(thrown.code).toBe("E_BINDING");
        expect(thrown.message).toContain("the binary is damaged");
        expectNothingWritten(root);
      }
    },
    timeout,
  );

  test(
    "a compressed file is unpacked into the cache; a file stored as is is copied",
    () => {
      for (const encoding of ["zstd", "none"] as const) {
        const { binding, contents } = fakeBinding(encoding);
        const source = binding.files[1]!.source;
        if (encoding === "zstd") expect(statSync(source).size).toBeLessThan(contents.get("libduckdb.so")!.length / 10);
        else expect(sha256(readFileSync(source))).toBe(sha256(contents.get("libduckdb.so")!));
        expectIntact(prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: tempDir() }), contents);
      }
    },
    timeout,
  );

  test(
    "an entry written by a build with other bytes is not taken for this build's",
    () => {
      const root = tempDir();
      const older = fakeBinding("none", 1);
      const olderDir = prepareBindingDirectory(older.binding, { RESTLOAD_CACHE_DIR: root });
      const { binding, contents } = fakeBinding("zstd", 2);
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root });
      // Same version, other bytes: another entry, and the older one is left as it was.
      expect(dir).not.toBe(olderDir);
      expectIntact(dir, contents);
      expectIntact(olderDir, older.contents);
    },
    timeout,
  );

  test(
    "cache roots follow RESTLOAD_CACHE_DIR, CACHE_DIRECTORY, XDG_CACHE_HOME, ~/.cache, then the temp directory",
    () => {
      expect(cacheRoots({ RESTLOAD_CACHE_DIR: "/a", CACHE_DIRECTORY: "/b:/c", XDG_CACHE_HOME: "/x", HOME: "/h" })).toEqual([
        "/a",
        "/b",
        "/x/restload",
        join(tmpdir(), `restload-${process.getuid!()}`),
      ]);
      expect(cacheRoots({ HOME: "/h" })[0]).toBe("/h/.cache/restload");
    },
    timeout,
  );

  test(
    "a cache root that group or others may write to is passed over for the next one",
    () => {
      const { binding, contents } = fakeBinding();
      const shared = tempDir();
      chmodSync(shared, 0o777);
      const own = tempDir();
      const dir = prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: shared, CACHE_DIRECTORY: own });
      expect(dir.startsWith(own)).toBe(true);
      expectIntact(dir, contents);
      expect(readdirSync(shared)).toEqual([]);
      chmodSync(shared, 0o700);
    },
    timeout,
  );

  test(
    "creating the entry's parent directories works from nothing",
    () => {
      const { binding, contents } = fakeBinding();
      const root = join(tempDir(), "deep", "er");
      mkdirSync(join(root, ".."), { recursive: true });
      expectIntact(prepareBindingDirectory(binding, { RESTLOAD_CACHE_DIR: root }), contents);
    },
    timeout,
  );
});
