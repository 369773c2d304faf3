// Benchmarks, measured side by side in one run on this machine: `npm run bench` (builds first).
//
// 1. Throughput: records/s of a full `dist/restload run` (extract, normalise, child tables,
//    commit) against records/s of a bare fetch + JSON.parse loop over the same pages of the demo
//    API, alternating, median of the rounds. Target: at least 0.6x.
//    Beside it, the storage floor: DuckDB alone storing the rows of the same records (read from CSV
//    files, with a run's settings, in one transaction), timed as a process like the others: no
//    loader that stores these rows in DuckDB on this machine can be faster.
// 2. Memory: peak RSS of a run loading 500,000 records. Target: under 300 MB. And the peak RSS of
//    DuckDB alone storing the same rows (the floor again).
// 3. Startup: `dist/restload --version` against a bare process start. Target: under 100 ms. A
//    run of a one-page pipeline. Target: under 1 s. The binary's size (target: at most 130 MB) and
//    its first start, which unpacks DuckDB's library into an empty cache directory.
// 4. Fan-out: 2,000 parents x one child request each, 20 ms server latency, max_concurrency = 16:
//    elapsed / ideal (2,000 x 20 ms / 16). Target: at most 1.3x.
// 5. Export: `dist/restload export` of the database the memory measure (2) loaded, into an empty
//    folder (every table, child tables included), then again with nothing new (it must write no
//    file): rows/s, the Parquet bytes against the DuckDB file, the seconds of each, peak RSS.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const binary = join(root, "dist", "restload");
const bun = join(root, "node_modules", ".bin", "bun");
const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "50000" },
    "rss-records": { type: "string", default: "500000" },
    rounds: { type: "string", default: "5" },
  },
});
if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm run build first`);
const work = mkdtempSync(join(tmpdir(), "restload-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Starts the demo API in its own process; resolves with its base URL. */
async function startApi(issues: number): Promise<{ url: string; stop: () => void; cpuMs: () => number }> {
  const proc = Bun.spawn([bun, join(root, "scripts", "demo-api.ts"), "--issues", String(issues)], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("demo API did not start");
    text += new TextDecoder().decode(value);
  }
  return { url: text.trim(), stop: () => proc.kill(), cpuMs: () => processCpuMs(proc.pid) };
}

/** CPU time (user + system) a running process has used so far, from /proc (Linux; clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs a command; returns wall time, CPU time, stdout and the peak RSS seen in /proc (Linux). */
async function measure(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ ms: number; cpuMs: number; stdout: string; peakRssMb: number }> {
  const started = performance.now();
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, hwm);
    } catch {
      // The process has ended.
    }
  }, 20);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearInterval(poll);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}\n${stderr.slice(-2000)}`);
  return { ms, cpuMs: Number(proc.resourceUsage()?.cpuTime.total ?? 0) / 1000, stdout, peakRssMb: peak / 1024 };
}

/** Exports the data tables a run loaded into `<work>/<name>-rows/`; returns that directory. */
async function exportRows(name: string): Promise<string> {
  const dir = join(work, `${name}-rows`);
  mkdirSync(dir);
  await measure([bun, join(root, "scripts", "bench-duckdb-alone.ts"), "export", join(work, `${name}.duckdb`), "github", dir]);
  return dir;
}

/** DuckDB alone storing exported rows in a new database; returns the rows of each table, wall time and peak RSS. */
async function duckdbAlone(dir: string): Promise<{ stored: Record<string, number>; ms: number; peakRssMb: number }> {
  const file = join(work, "alone.duckdb");
  rmSync(file, { force: true });
  const result = await measure([bun, join(root, "scripts", "bench-duckdb-alone.ts"), "load", dir, file, "128MB"]);
  return { stored: JSON.parse(result.stdout), ms: result.ms, peakRssMb: result.peakRssMb };
}

function pipelineFor(url: string, name: string): string {
  const file = join(work, `${name}.toml`);
  writeFileSync(
    file,
    `[pipeline]\nname = "${name}"\ndataset = "github"\n[client]\nbase_url = "${url}"\n[resource_defaults]\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.params.per_page = 100\n[[resources]]\nname = "issues"\nendpoint.paginator = "header_link"\n`,
  );
  return file;
}

async function fullRun(
  url: string,
  name: string,
): Promise<{ records: number; rows: number; ms: number; cpuMs: number; peakRssMb: number }> {
  const file = pipelineFor(url, name);
  rmSync(join(work, `${name}.duckdb`), { force: true });
  const result = await measure([binary, "run", file, "--json"], { RESTLOAD_CACHE_DIR: join(work, "cache") });
  const summary = JSON.parse(result.stdout);
  return {
    records: summary.units[0].rows_by_table.issues,
    rows: summary.rows,
    ms: result.ms,
    cpuMs: result.cpuMs,
    peakRssMb: result.peakRssMb,
  };
}

// 1. Throughput
const records = Number(args.records);
const api = await startApi(records);
const firstPage = `${api.url}issues?per_page=100`;
await measure([binary, "--version"], { RESTLOAD_CACHE_DIR: join(work, "cache") });
await fullRun(api.url, "warmup");
const loop: number[] = [];
const run: number[] = [];
/** CPU milliseconds per round: the loop, the run, and the API while serving each. */
const cpu = { loop: [] as number[], run: [] as number[], apiLoop: [] as number[], apiRun: [] as number[] };
let rowsPerRun = 0;
for (let round = 0; round < Number(args.rounds); round++) {
  let apiBefore = api.cpuMs();
  const bare = await measure([bun, join(root, "scripts", "bench-fetch-loop.ts"), firstPage]);
  cpu.apiLoop.push(api.cpuMs() - apiBefore);
  cpu.loop.push(bare.cpuMs);
  const count = Number(bare.stdout.trim());
  if (count !== records) throw new Error(`the fetch loop read ${count} records, expected ${records}`);
  loop.push(count / (bare.ms / 1000));
  apiBefore = api.cpuMs();
  const full = await fullRun(api.url, `round${round}`);
  cpu.apiRun.push(api.cpuMs() - apiBefore);
  cpu.run.push(full.cpuMs);
  if (full.records !== records) throw new Error(`the run loaded ${full.records} records, expected ${records}`);
  run.push(full.records / (full.ms / 1000));
  rowsPerRun = full.rows;
}
api.stop();
// The floor: DuckDB alone storing the rows of the last round, as many times as there were rounds.
const rowsDir = await exportRows(`round${Number(args.rounds) - 1}`);
const alone: number[] = [];
for (let round = 0; round < Number(args.rounds); round++) {
  const result = await duckdbAlone(rowsDir);
  if (result.stored.issues !== records) throw new Error(`DuckDB alone stored ${result.stored.issues} records, expected ${records}`);
  alone.push(records / (result.ms / 1000));
}
const ratio = median(run) / median(loop);
console.log(`throughput (${records} records, ${rowsPerRun} rows with child tables, ${args.rounds} alternating rounds, medians)`);
console.log(`  bare fetch + JSON.parse loop   ${median(loop).toFixed(0).padStart(8)} records/s`);
console.log(`  dist/restload run (full)       ${median(run).toFixed(0).padStart(8)} records/s`);
console.log(`  ratio                          ${ratio.toFixed(2).padStart(8)}x   (target >= 0.60x: ${ratio >= 0.6 ? "met" : "NOT met"})`);
console.log(
  `  DuckDB alone, same rows        ${median(alone).toFixed(0).padStart(8)} records/s = ${(median(alone) / median(loop)).toFixed(2)}x the loop (the storage floor); the run reaches ${(median(run) / median(alone)).toFixed(2)}x of it`,
);
console.log(`  CPU time (user + system, medians; the machine's cores are shared with the API)`);
console.log(`    fetch loop ${median(cpu.loop).toFixed(0)} ms, API while it ran ${median(cpu.apiLoop).toFixed(0)} ms`);
console.log(`    full run   ${median(cpu.run).toFixed(0)} ms, API while it ran ${median(cpu.apiRun).toFixed(0)} ms`);

// 2. Memory
const rssRecords = Number(args["rss-records"]);
const big = await startApi(rssRecords);
const memory = await fullRun(big.url, "memory");
big.stop();
const memoryAlone = await duckdbAlone(await exportRows("memory"));
console.log(`memory (${rssRecords} records, ${memory.rows} rows)`);
console.log(
  `  peak RSS of dist/restload run  ${memory.peakRssMb.toFixed(0).padStart(8)} MB   (target < 300 MB: ${memory.peakRssMb < 300 ? "met" : "NOT met"})`,
);
console.log(`  throughput                     ${(memory.records / (memory.ms / 1000)).toFixed(0).padStart(8)} records/s`);
console.log(
  `  DuckDB alone, same rows        ${memoryAlone.peakRssMb.toFixed(0).padStart(8)} MB peak RSS (the floor), ${(rssRecords / (memoryAlone.ms / 1000)).toFixed(0)} records/s`,
);

// 5. Export, of the database section 2 loaded (measured here, while it is there), with the
// pipeline's own settings (duckdb_memory_limit 128MB, the default).
{
  const lake = join(work, "lake");
  const databaseBytes = statSync(join(work, "memory.duckdb")).size;
  const exportOnce = async () => {
    const result = await measure([binary, "export", join(work, "memory.toml"), "--to", lake, "--json"], {
      RESTLOAD_CACHE_DIR: join(work, "cache"),
    });
    const summary = JSON.parse(result.stdout) as { files_written: number; rows_written: number; bytes_written: number; tables: unknown[] };
    return { ...result, ...summary };
  };
  const full = await exportOnce();
  if (full.rows_written !== memory.rows) throw new Error(`the export wrote ${full.rows_written} rows, expected ${memory.rows}`);
  const again = await exportOnce();
  if (again.files_written !== 0) throw new Error(`the export with nothing new wrote ${again.files_written} files, expected none`);
  console.log(`export (${full.rows_written} rows of ${full.tables.length} tables, child tables included, into an empty folder)`);
  console.log(
    `  dist/restload export (full)    ${(full.rows_written / (full.ms / 1000)).toFixed(0).padStart(8)} rows/s in ${(full.ms / 1000).toFixed(1)} s, peak RSS ${full.peakRssMb.toFixed(0)} MB (duckdb_memory_limit 128MB, the default)`,
  );
  console.log(
    `  Parquet written                ${(full.bytes_written / 1e6).toFixed(1).padStart(8)} MB in ${full.files_written} files = ${(full.bytes_written / databaseBytes).toFixed(2)}x the DuckDB file (${(databaseBytes / 1e6).toFixed(1)} MB)`,
  );
  console.log(
    `  export with nothing new        ${(again.ms / 1000).toFixed(1).padStart(8)} s   (no file written), peak RSS ${again.peakRssMb.toFixed(0)} MB`,
  );
}

// 3. Startup
async function startupMs(cmd: string[], runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push((await measure(cmd, { RESTLOAD_CACHE_DIR: join(work, "cache") })).ms);
  return median(samples);
}
const bareStart = await startupMs(["true"], 25);
const version = await startupMs([binary, "--version"], 25);
const source = await startupMs([bun, join(root, "src", "main.ts"), "--version"], 25);
const memorySql = await startupMs([binary, "sql", ":memory:", "select 42"], 10);
// The first start of a version: the library is unpacked and hashed into an empty cache directory.
const firstStarts: number[] = [];
for (let i = 0; i < 5; i++) {
  const cache = join(work, `first-start-${i}`);
  firstStarts.push((await measure([binary, "sql", ":memory:", "select 42"], { RESTLOAD_CACHE_DIR: cache })).ms);
  rmSync(cache, { recursive: true, force: true });
}
const binaryMb = statSync(binary).size / 1e6;
// A whole run of a one-page pipeline (100 records into a fresh database).
const onePage = await startApi(100);
const onePageRuns: number[] = [];
for (let i = 0; i < 10; i++) onePageRuns.push((await fullRun(onePage.url, "onepage")).ms);
onePage.stop();
console.log("startup (medians, ms; ratio to a bare process start)");
console.log(`  bare process start (true)      ${bareStart.toFixed(1).padStart(8)} ms`);
console.log(
  `  dist/restload --version        ${version.toFixed(1).padStart(8)} ms  ${(version / bareStart).toFixed(1).padStart(6)}x   (target < 100 ms: ${version < 100 ? "met" : "NOT met"})`,
);
console.log(`  bun src/main.ts --version      ${source.toFixed(1).padStart(8)} ms  ${(source / bareStart).toFixed(1).padStart(6)}x`);
console.log(
  `  dist/restload sql :memory:     ${memorySql.toFixed(1).padStart(8)} ms  ${(memorySql / bareStart).toFixed(1).padStart(6)}x   (DuckDB loaded and verified)`,
);
console.log(
  `  dist/restload first start      ${median(firstStarts).toFixed(1).padStart(8)} ms           (sql :memory:, empty cache directory: DuckDB's library unpacked and hashed)`,
);
console.log(
  `  run of a one-page pipeline     ${median(onePageRuns).toFixed(1).padStart(8)} ms           (target < 1000 ms: ${median(onePageRuns) < 1000 ? "met" : "NOT met"})`,
);
console.log(
  `  binary size                    ${binaryMb.toFixed(1).padStart(8)} MB           (target <= 130 MB: ${binaryMb <= 130 ? "met" : "NOT met"})`,
);

// 4. Fan-out (and 5. memory with 20,000 parents)
async function fanOut(parents: number, latencyMs: number): Promise<{ ms: number; peakRssMb: number; children: number }> {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/parents") {
        const page = Number(url.searchParams.get("page") ?? 0);
        const items = Array.from({ length: 100 }, (_, i) => ({ id: page * 100 + i, name: `parent ${page * 100 + i}` }));
        const next = (page + 1) * 100 < parents ? { link: `<${url.origin}/parents?page=${page + 1}>; rel="next"` } : {};
        return Response.json(items, { headers: next });
      }
      if (latencyMs > 0) await Bun.sleep(latencyMs);
      return Response.json([{ id: url.pathname, value: 1, tags: ["a", "b"] }]);
    },
  });
  const file = join(work, `fanout-${parents}.toml`);
  writeFileSync(
    file,
    `[pipeline]\nname = "fanout${parents}"\nmax_concurrency = 16\n[client]\nbase_url = "http://127.0.0.1:${server.port}/"\n[[resources]]\nname = "parents"\nendpoint.paginator = "header_link"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/child"\nendpoint.paginator = "single_page"\ninclude_from_parent = ["name"]\n`,
  );
  const result = await measure([binary, "run", file, "--json"], { RESTLOAD_CACHE_DIR: join(work, "cache") });
  server.stop(true);
  return { ms: result.ms, peakRssMb: result.peakRssMb, children: JSON.parse(result.stdout).units[0].rows_by_table.children };
}
{
  const fan = await fanOut(2000, 20);
  const ideal = (2000 * 20) / 16;
  console.log(`fan-out (2,000 parents x 1 child, 20 ms latency, max_concurrency 16; ${fan.children} children loaded)`);
  console.log(`  elapsed (whole run, start-up and commit included)  ${fan.ms.toFixed(0).padStart(6)} ms`);
  console.log(`  ideal (2,000 x 20 ms / 16)                         ${ideal.toFixed(0).padStart(6)} ms`);
  console.log(
    `  ratio                                              ${(fan.ms / ideal).toFixed(2).padStart(6)}x   (target <= 1.3x: ${fan.ms / ideal <= 1.3 ? "met" : "NOT met"})`,
  );
  const wide = await fanOut(20000, 0);
  console.log(`memory with many parents (20,000 parents x 1 child; ${wide.children} children loaded)`);
  console.log(
    `  peak RSS of dist/restload run  ${wide.peakRssMb.toFixed(0).padStart(8)} MB   (target < 300 MB: ${wide.peakRssMb < 300 ? "met" : "NOT met"}) in ${(wide.ms / 1000).toFixed(1)} s`,
  );
}
