// Compiles src/main.ts into one executable that carries DuckDB's native binding inside itself.
//
// Usage: bun scripts/build.ts [--outfile dist/restload]
//
// `@duckdb/node-bindings` require()s the binding of every platform and the addon needs
// libduckdb.so beside it, so the stock build cannot work: this plugin replaces that module with
// one that embeds duckdb.node and libduckdb.so as files, with their SHA-256 checksums, and hands
// them to src/db/embedded-binding.ts at first use.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BunPlugin } from "bun";

const root = resolve(import.meta.dir, "..");

export async function build(outfile: string): Promise<void> {
  const platform = `${process.platform}-${process.arch}`;
  const bindingDir = join(root, "node_modules", "@duckdb", `node-bindings-${platform}`);
  const files = ["duckdb.node", platform.startsWith("darwin") ? "libduckdb.dylib" : "libduckdb.so"];
  for (const file of files) {
    if (!existsSync(join(bindingDir, file))) throw new Error(`Cannot build: ${join(bindingDir, file)} is missing; run npm install`);
  }
  const version = JSON.parse(readFileSync(join(bindingDir, "package.json"), "utf8")).version as string;
  const embedded = files.map((name) => ({
    name,
    path: join(bindingDir, name),
    sha256: createHash("sha256").update(readFileSync(join(bindingDir, name))).digest("hex"),
  }));

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
          ...embedded.map((file, index) => `  { name: ${JSON.stringify(file.name)}, source: file${index}, sha256: ${JSON.stringify(file.sha256)} },`),
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

if (import.meta.main) {
  const { values } = parseArgs({ options: { outfile: { type: "string", default: join(root, "dist", "restload") } } });
  const outfile = values.outfile!;
  const started = performance.now();
  await build(outfile);
  console.log(`built ${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s (${dirname(outfile)})`);
}
