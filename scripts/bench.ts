// Benchmarks, measured side by side in one run on this machine: `npm run bench`.
//
// Startup: `restload --version` of the compiled binary against a bare process start (`true`) and
// against the same command from source, median of many runs after a warm-up.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const binary = join(root, "dist", "restload");
const bun = join(root, "node_modules", ".bin", "bun");

async function timeOnce(cmd: string[]): Promise<number> {
  const started = performance.now();
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}`);
  return performance.now() - started;
}

/** Median wall time in ms of `runs` runs, taken round-robin with the other commands. */
async function medians(commands: Record<string, string[]>, runs: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
  for (const cmd of Object.values(commands)) await timeOnce(cmd);
  for (let i = 0; i < runs; i++) {
    for (const [name, cmd] of Object.entries(commands)) samples[name]!.push(await timeOnce(cmd));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => {
      const sorted = values.sort((a, b) => a - b);
      return [name, sorted[Math.floor(sorted.length / 2)]!];
    }),
  );
}

if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm run build first`);

const startup = await medians(
  {
    "process start (true)": ["true"],
    "dist/restload --version": [binary, "--version"],
    "bun src/main.ts --version": [bun, join(root, "src", "main.ts"), "--version"],
    "dist/restload sql :memory: (DuckDB loaded)": [binary, "sql", ":memory:", "select 42"],
  },
  25,
);
const base = startup["process start (true)"]!;
console.log("startup (median of 25 runs, ms; ratio to a bare process start)");
for (const [name, ms] of Object.entries(startup)) {
  console.log(`  ${name.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / base).toFixed(1).padStart(6)}x`);
}
const version = startup["dist/restload --version"]!;
console.log(`target: dist/restload --version under 100 ms: ${version < 100 ? "met" : "NOT met"} (${version.toFixed(1)} ms)`);
