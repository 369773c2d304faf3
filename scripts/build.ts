// Compiles src/main.ts into one executable that carries DuckDB's native binding inside itself.
//
// Usage: bun scripts/build.ts [--outfile dist/restload]
//
// `@duckdb/node-bindings` require()s the binding of every platform and the addon needs
// libduckdb.so beside it, so the stock build cannot work: this plugin replaces that module with
// one that embeds duckdb.node and libduckdb.so as files, with their SHA-256 checksums, and hands
// them to src/db/embedded-binding.ts at first use.
//
// Both files are embedded stripped and zstd-compressed: libduckdb.so is 70.5 MB as shipped, 59.6 MB
// after `strip --strip-unneeded` (symbols nothing links against) and 16.4 MB once compressed at
// level 19, which takes the binary from 181 MB to about 127 MB (Bun itself is 107 MB). Level 19
// costs ~30 s of one core, so the compressed files are kept in node_modules/.cache/restload, keyed
// by the SHA-256 of the input and the recipe: only the first build pays.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { zstdDecompressSync } from "node:zlib";
import type { BunPlugin } from "bun";

const root = resolve(import.meta.dir, "..");
const packCache = join(root, "node_modules", ".cache", "restload");
const zstdLevel = 19;

/** One file as the binary embeds it: compressed, with the size and checksum of what it unpacks to. */
interface Packed {
  readonly name: string;
  /** The compressed file that gets embedded. */
  readonly path: string;
  /** SHA-256 and size of the stripped file that is written to the cache and loaded. */
  readonly sha256: string;
  readonly size: number;
}

export async function build(outfile: string): Promise<void> {
  const platform = `${process.platform}-${process.arch}`;
  const bindingDir = join(root, "node_modules", "@duckdb", `node-bindings-${platform}`);
  const files = ["duckdb.node", platform.startsWith("darwin") ? "libduckdb.dylib" : "libduckdb.so"];
  for (const file of files) {
    if (!existsSync(join(bindingDir, file))) throw new Error(`Cannot build: ${join(bindingDir, file)} is missing; run npm install`);
  }
  const version = JSON.parse(readFileSync(join(bindingDir, "package.json"), "utf8")).version as string;
  const strip = stripTool();
  const embedded = files.map((name) => pack(join(bindingDir, name), strip));

  const embedPlugin: BunPlugin = {
    name: "restload-embed-duckdb",
    setup(builder) {
      builder.onResolve({ filter: /^@duckdb\/node-bindings$/ }, () => ({ path: "duckdb-binding", namespace: "restload-embedded" }));
      builder.onLoad({ filter: /.*/, namespace: "restload-embedded" }, () => ({
        loader: "ts",
        contents: [
          `import { loadEmbeddedBinding } from ${JSON.stringify(join(root, "src/db/embedded-binding.ts"))};`,
          ...embedded.map((file, index) => `import file${index} from ${JSON.stringify(file.path)} with { type: "file" };`),
          `const binding = loadEmbeddedBinding({ version: ${JSON.stringify(version)}, files: [`,
          ...embedded.map(
            (file, index) =>
              `  { name: ${JSON.stringify(file.name)}, source: file${index}, encoding: "zstd", size: ${file.size}, sha256: ${JSON.stringify(file.sha256)} },`,
          ),
          `] });`,
          // @duckdb/node-api is CommonJS and reads the binding through __importDefault.
          `export default binding;`,
          `export const __esModule = true;`,
        ].join("\n"),
      }));
    },
  };

  const result = await Bun.build({
    entrypoints: [join(root, "src/main.ts")],
    compile: {
      outfile: resolve(outfile),
      // --smol: the collector runs more often, keeping a long run's memory near what it holds.
      execArgv: ["--smol"],
      // The binary runs where an operator puts it: it must not pick up a .env, bunfig.toml,
      // package.json or tsconfig.json from the working directory.
      autoloadDotenv: false,
      autoloadBunfig: false,
      autoloadPackageJson: false,
      autoloadTsconfig: false,
    },
    plugins: [embedPlugin],
    minify: true,
    sourcemap: "linked",
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("Build failed");
  }
}

interface StripTool {
  readonly args: readonly string[];
  /** First line of `strip --version`: a different strip may give different bytes. */
  readonly version: string;
}

/** The system's strip; the build stops with a clear message when it is missing. */
function stripTool(): StripTool {
  // --strip-unneeded keeps the dynamic symbol table that dlopen() and the addon need; Apple's
  // strip spells "local symbols only" -x.
  const args = process.platform === "darwin" ? ["-x"] : ["--strip-unneeded"];
  const probe = spawnSync("strip", ["--version"], { encoding: "utf8" });
  if (probe.error || (process.platform !== "darwin" && probe.status !== 0)) {
    throw new Error(
      `Cannot build: \`strip\` is needed to shrink libduckdb.so (${probe.error?.message ?? probe.stderr.trim()}). ` +
        "Install binutils (Debian/Ubuntu: apt-get install binutils; Fedora: dnf install binutils; Alpine: apk add binutils).",
    );
  }
  return { args, version: probe.stdout.split("\n")[0]?.trim() || "strip" };
}

/** Strips and compresses `source`, or takes the result of an earlier build from the cache. */
function pack(source: string, strip: StripTool): Packed {
  const name = basename(source);
  const input = readFileSync(source);
  const key = sha256(`${name}\n${sha256(input)}\n${strip.version}\n${strip.args.join(" ")}\nzstd-${zstdLevel}`).slice(0, 24);
  const path = join(packCache, `${name}-${key}.zst`);
  const cached = readCached(path);
  if (cached) return { name, path, ...cached };

  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), "restload-pack-"));
  try {
    const stripped = join(work, name);
    const ran = spawnSync("strip", [...strip.args, "-o", stripped, source], { encoding: "utf8" });
    if (ran.error || ran.status !== 0) throw new Error(`Cannot build: strip ${source} failed: ${ran.error?.message ?? ran.stderr.trim()}`);
    const plain = readFileSync(stripped);
    const compressed = Bun.zstdCompressSync(plain, { level: zstdLevel });
    const meta: Meta = { sha256: sha256(plain), size: plain.length, compressedSha256: sha256(compressed) };
    // What the binary will unpack must be exactly what was stripped.
    if (sha256(zstdDecompressSync(compressed)) !== meta.sha256) throw new Error(`Cannot build: compressing ${name} does not round-trip`);
    mkdirSync(packCache, { recursive: true });
    // The compressed file first, its description second: a description always has its file.
    writeAtomically(path, compressed);
    writeAtomically(`${path}.json`, JSON.stringify(meta));
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    console.log(
      `packed ${name}: ${mb(input.length)} MB, stripped ${mb(plain.length)} MB, zstd -${zstdLevel} ${mb(compressed.length)} MB ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s (cached in ${packCache})`,
    );
    return { name, path, sha256: meta.sha256, size: meta.size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface Meta {
  readonly sha256: string;
  readonly size: number;
  readonly compressedSha256: string;
}

/** An earlier build's result, if both its files are there and the compressed one is intact. */
function readCached(path: string): Omit<Meta, "compressedSha256"> | undefined {
  try {
    const meta = JSON.parse(readFileSync(`${path}.json`, "utf8")) as Meta;
    if (typeof meta.sha256 !== "string" || typeof meta.size !== "number") return undefined;
    // Hashing the 16 MB file costs ~20 ms and keeps a damaged cache out of the binary.
    if (sha256(readFileSync(path)) !== meta.compressedSha256) return undefined;
    return { sha256: meta.sha256, size: meta.size };
  } catch {
    return undefined;
  }
}

function writeAtomically(path: string, bytes: Uint8Array | string): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outfile: { type: "string", default: join(root, "dist", "restload") } } });
  const outfile = values.outfile!;
  const started = performance.now();
  try {
    await build(outfile);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  }
  console.log(`built ${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s (${dirname(outfile)})`);
}
