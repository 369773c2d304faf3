// The compiled binary, alone in an empty directory with a scrubbed environment.
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { compiledBinary, repoRoot, run, servingUrl, tempDir } from "../helpers.ts";
import { startDemoApi } from "../../scripts/demo-api.ts";

const stockBinding = join(repoRoot, "node_modules", "@duckdb", `node-bindings-${process.platform}-${process.arch}`);
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

// Eight first starts at once, each unpacking and hashing the 60 MB library, took 6.3 s on a
// shared 2-core machine: past the runner's 5 s default, so every test here sets its own limit.
const timeout = 120_000;

let binary = "";
let workDir = "";
/** SHA-256 of each stock binding file after `strip --strip-unneeded`: what the cache must hold. */
const stripped: Record<string, string> = {};

beforeAll(async () => {
  workDir = tempDir("restload-bin-");
  binary = join(workDir, "restload");
  copyFileSync(await compiledBinary(), binary);
  const dir = tempDir("restload-stripped-");
  for (const name of ["duckdb.node", "libduckdb.so"]) {
    const ran = Bun.spawnSync(["strip", "--strip-unneeded", "-o", join(dir, name), join(stockBinding, name)]);
    if (ran.exitCode !== 0) throw new Error(`strip ${name} failed: ${ran.stderr.toString()}`);
    stripped[name] = sha(join(dir, name));
  }
}, 300_000);

/** The expected checksum of a cached file. */
function strippedSha(name: string): string {
  const hash = stripped[name];
  if (hash === undefined) throw new Error(`no checksum for ${name}`);
  return hash;
}

/** Starts `serve` and returns its process and base URL once it listens. */
async function startServe(database: string, env: Record<string, string>) {
  const proc = Bun.spawn([binary, "serve", "--database", database, "--port", "0"], { cwd: workDir, env, stdout: "pipe", stderr: "pipe" });
  return { proc, base: await servingUrl(proc) };
}

/** A scrubbed environment: only PATH, plus what a test adds. */
function scrubbed(extra: Record<string, string>): Record<string, string> {
  return { PATH: "/usr/bin:/bin", ...extra };
}

/** The single cache entry below `root`, with its two files. */
function cacheEntry(root: string): string {
  const entries = readdirSync(root).filter((name) => name.startsWith("duckdb-"));
  expect(entries).toHaveLength(1);
  return join(root, entries[0]!);
}

describe("compiled binary", () => {
  test(
    "is at most 130 MB: DuckDB is carried stripped and compressed",
    () => {
      // Bun is 107 MB of it; the library stripped and at zstd level 19 is 16.4 MB (70.5 MB as shipped).
      expect(statSync(binary).size).toBeLessThanOrEqual(130_000_000);
    },
    timeout,
  );

  test(
    "--version and --help answer without touching DuckDB or the cache",
    async () => {
      const home = tempDir();
      const version = await run([binary, "--version"], { cwd: workDir, env: scrubbed({ HOME: home }) });
      expect(version.code).toBe(0);
      expect(version.stdout).toMatch(/^restload \d+\.\d+\.\d+ \(DuckDB /);
      const help = await run([binary, "--help"], { cwd: workDir, env: scrubbed({ HOME: home }) });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("sql <database|pipeline>");
      expect(readdirSync(home)).toEqual([]);
    },
    timeout,
  );

  test(
    "sql creates, fills and queries a database with a scrubbed environment and an empty HOME",
    async () => {
      const home = tempDir();
      const env = scrubbed({ HOME: home });
      const created = await run([binary, "sql", "loaded.duckdb", "create table t as select range as id from range(1000)"], {
        cwd: workDir,
        env,
      });
      expect(created.stderr).toBe(`database: ${join(workDir, "loaded.duckdb")}\n`);
      expect(created.code).toBe(0);
      const queried = await run([binary, "sql", "loaded.duckdb", "select count(*) as n, sum(id) as s from t", "--csv"], {
        cwd: workDir,
        env,
      });
      expect(queried.code).toBe(0);
      expect(queried.stdout).toBe("n,s\n1000,499500\n");
      const entry = cacheEntry(join(home, ".cache", "restload"));
      expect(sha(join(entry, "libduckdb.so"))).toBe(strippedSha("libduckdb.so"));
      expect(sha(join(entry, "duckdb.node"))).toBe(strippedSha("duckdb.node"));
    },
    timeout,
  );

  test(
    "a first start unpacks the stripped library into an empty cache, and the process runs that very file",
    async () => {
      const cache = tempDir();
      const env = scrubbed({ RESTLOAD_CACHE_DIR: cache });
      expect((await run([binary, "sql", "mapped.duckdb", "select 1"], { cwd: workDir, env })).code).toBe(0);
      const { proc } = await startServe("mapped.duckdb", env);
      try {
        const entry = cacheEntry(cache);
        const library = join(entry, "libduckdb.so");
        // Stripped, not the 70 MB file as shipped.
        expect(sha(library)).toBe(strippedSha("libduckdb.so"));
        expect(sha(library)).not.toBe(sha(join(stockBinding, "libduckdb.so")));
        expect(statSync(library).size).toBeLessThan(statSync(join(stockBinding, "libduckdb.so")).size);
        // The library mapped into the running process is the cached file, by path and inode.
        const maps = readFileSync(`/proc/${proc.pid}/maps`, "utf8")
          .split("\n")
          .filter((line) => line.endsWith("/libduckdb.so"));
        expect(maps.length).toBeGreaterThan(0);
        for (const line of maps) {
          const fields = line.trim().split(/\s+/);
          expect(fields[5]).toBe(library);
          expect(fields[4]).toBe(String(statSync(library).ino));
        }
      } finally {
        proc.kill();
        await proc.exited;
      }
    },
    timeout,
  );

  test(
    "works with HOME unset and only CACHE_DIRECTORY set",
    async () => {
      const cache = tempDir();
      const result = await run([binary, "sql", "cache-dir.duckdb", "select 42 as answer", "--csv"], {
        cwd: workDir,
        env: scrubbed({ CACHE_DIRECTORY: cache }),
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("answer\n42\n");
      cacheEntry(cache);
    },
    timeout,
  );

  test(
    "eight processes starting at once on an empty cache all succeed and leave one clean entry",
    async () => {
      const cache = tempDir();
      const env = scrubbed({ RESTLOAD_CACHE_DIR: cache });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          run([binary, "sql", `parallel-${index}.duckdb`, `select ${index} as n`, "--csv"], { cwd: workDir, env }),
        ),
      );
      results.forEach((result, index) => {
        expect(result.stderr).toBe(`database: ${join(workDir, `parallel-${index}.duckdb`)}\n`);
        expect(result.stdout).toBe(`n\n${index}\n`);
        expect(result.code).toBe(0);
      });
      const entry = cacheEntry(cache);
      // Only the two files: no temporary file left behind by a process that lost the race.
      expect(readdirSync(entry).sort()).toEqual(["duckdb.node", "libduckdb.so"]);
      expect(sha(join(entry, "libduckdb.so"))).toBe(strippedSha("libduckdb.so"));
      expect(sha(join(entry, "duckdb.node"))).toBe(strippedSha("duckdb.node"));
    },
    timeout,
  );

  test(
    "a truncated cache entry is replaced before it is loaded",
    async () => {
      const cache = tempDir();
      const env = scrubbed({ RESTLOAD_CACHE_DIR: cache });
      expect((await run([binary, "sql", "trunc.duckdb", "select 1"], { cwd: workDir, env })).code).toBe(0);
      const library = join(cacheEntry(cache), "libduckdb.so");
      // Loading a 4 KiB libduckdb.so would fail at once; a working run proves it was replaced first.
      truncateSync(library, 4096);
      const result = await run([binary, "sql", "trunc.duckdb", "select 2 as n", "--csv"], { cwd: workDir, env });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("n\n2\n");
      expect(sha(library)).toBe(strippedSha("libduckdb.so"));
    },
    timeout,
  );

  test(
    "a cache entry with one byte flipped at the same size is replaced before it is loaded",
    async () => {
      const cache = tempDir();
      const env = scrubbed({ RESTLOAD_CACHE_DIR: cache });
      expect((await run([binary, "sql", "flip.duckdb", "select 1"], { cwd: workDir, env })).code).toBe(0);
      const entry = cacheEntry(cache);
      for (const name of ["duckdb.node", "libduckdb.so"]) {
        const path = join(entry, name);
        const bytes = readFileSync(path);
        const size = bytes.length;
        // Byte 1 is the 'E' of the ELF magic: a file with it flipped cannot be dlopen()ed.
        bytes[1] = bytes[1]! ^ 0x01;
        writeFileSync(path, bytes);
        expect(statSync(path).size).toBe(size);
      }
      const result = await run([binary, "sql", "flip.duckdb", "select 3 as n", "--csv"], { cwd: workDir, env });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("n\n3\n");
      expect(sha(join(entry, "duckdb.node"))).toBe(strippedSha("duckdb.node"));
      expect(sha(join(entry, "libduckdb.so"))).toBe(strippedSha("libduckdb.so"));
    },
    timeout,
  );

  test(
    "bad input through the binary: unknown command 64, bad SQL 1, non-DuckDB file 1 and unchanged",
    async () => {
      const cache = tempDir();
      const env = scrubbed({ RESTLOAD_CACHE_DIR: cache });
      expect((await run([binary, "nonsense"], { cwd: workDir, env })).code).toBe(64);
      expect((await run([binary, "sql", "bad.duckdb", "selec 1"], { cwd: workDir, env })).code).toBe(1);
      const notes = join(workDir, "notes.txt");
      writeFileSync(notes, "plain text\n");
      const invalid = await run([binary, "sql", notes, "select 1"], { cwd: workDir, env });
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain("not a DuckDB database file");
      expect(readFileSync(notes, "utf8")).toBe("plain text\n");
    },
    timeout,
  );

  test(
    "check and init work from the binary alone",
    async () => {
      const env = scrubbed({ RESTLOAD_CACHE_DIR: tempDir(), RESTLOAD_SECRET_GITHUB_TOKEN: "c4n4ry+/=&token" });
      const init = await run([binary, "init", "github", "project"], { cwd: workDir, env });
      expect(init.code).toBe(0);
      const check = await run([binary, "check", "project/pipeline.toml", "--json"], { cwd: workDir, env });
      expect(check.code).toBe(0);
      expect(JSON.parse(check.stdout).secrets[0].found_in).toBe("environment variable RESTLOAD_SECRET_GITHUB_TOKEN");
      expect(check.stdout).not.toContain("c4n4ry");
      const seed = await run([binary, "check", join(repoRoot, "configs", "github.toml"), "--skip-secrets"], { cwd: workDir, env });
      expect(seed.code).toBe(0);
      const invalid = await run([binary, "check", join(repoRoot, "test", "fixtures", "config", "invalid", "many-problems.toml")], {
        cwd: workDir,
        env,
      });
      expect(invalid.code).toBe(78);
      expect(invalid.stderr).toContain("has 4 problems");
    },
    timeout,
  );

  test(
    "serve works from the binary alone",
    async () => {
      const env = scrubbed({ RESTLOAD_CACHE_DIR: tempDir() });
      expect((await run([binary, "sql", "served.duckdb", "select 1"], { cwd: workDir, env })).code).toBe(0);
      const { proc, base } = await startServe("served.duckdb", env);
      try {
        const health = await fetch(`${base}healthz`);
        expect(health.status).toBe(503);
        expect(await health.text()).toContain("no run recorded");
        expect((await fetch(`${base}metrics`)).status).toBe(200);
      } finally {
        proc.kill();
        await proc.exited;
      }
    },
    timeout,
  );

  test(
    "run with [export] dir, then export: Parquet from the binary alone, read back by its own sql",
    async () => {
      const api = startDemoApi({ issues: 40 });
      try {
        const pipeline = join(workDir, "demo-export.toml");
        writeFileSync(pipeline, `${readFileSync(join(repoRoot, "configs", "demo.toml"), "utf8")}\n[export]\ndir = "lake"\n`);
        const env = scrubbed({ HOME: tempDir(), RESTLOAD_DEMO_URL: api.url });
        const ran = await run([binary, "run", pipeline, "--log-format", "json"], { cwd: workDir, env });
        expect(ran.code).toBe(0);
        expect(ran.stderr).toContain('"event":"export_finished"');
        const again = await run([binary, "export", pipeline, "--json"], { cwd: workDir, env });
        expect(again.code).toBe(0);
        expect(JSON.parse(again.stdout).files_written).toBe(0);
        const counted = await run(
          [
            binary,
            "sql",
            ":memory:",
            `select count(*) as n from read_parquet('${join(workDir, "lake", "github", "issues")}/*.parquet')`,
            "--csv",
          ],
          { cwd: workDir, env },
        );
        expect(counted.stdout).toBe("n\n40\n");
      } finally {
        await api.stop();
      }
    },
    timeout,
  );

  test(
    "an unusable cache root falls back to the next one",
    async () => {
      const blocker = join(tempDir(), "file");
      writeFileSync(blocker, "");
      const home = tempDir();
      mkdirSync(join(home, ".cache"));
      const result = await run([binary, "sql", "fallback.duckdb", "select 5 as n", "--csv"], {
        cwd: workDir,
        env: scrubbed({ RESTLOAD_CACHE_DIR: join(blocker, "sub"), HOME: home }),
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("n\n5\n");
      expect(existsSync(join(home, ".cache", "restload"))).toBe(true);
    },
    timeout,
  );
});
