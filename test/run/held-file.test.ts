// When a run holds the database file, and what happens when it cannot get it: a slow API leaves the
// file free between checkpoints; a checkpoint stopped while it waits for the file commits nothing
// partial; a unit that cannot get the file fails with E_LOCKED and the run goes on; a run killed
// with -9 stands in no later run's way. Real processes, real DuckDB files, local HTTP servers.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bunBin, repoRoot, restload } from "../helpers.ts";
import { startServer, type TestServer } from "../servers/server.ts";
import { linkedPage, type Project, project, spawnRun } from "./_helpers.ts";

const servers: TestServer[] = [];
const holders: ReturnType<typeof Bun.spawn>[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const holder of holders) holder.kill();
});

interface Event {
  seq: number;
  labels: { name: string }[];
}
const eventsOf = (count: number): Event[] =>
  Array.from({ length: count }, (_, i) => ({ seq: i + 1, labels: [{ name: `a${i + 1}` }, { name: `b${i + 1}` }] }));

/** Ascending `seq` from `since` (closed), `perPage` a page by a Link header, each page after `delayMs`; every path. */
function orderedApi(source: readonly unknown[], perPage: number, delayMs: number, onRequest?: (count: number) => void): TestServer {
  let count = 0;
  const server = startServer(async (request) => {
    onRequest?.(++count);
    await Bun.sleep(delayMs);
    const since = Number(request.url.searchParams.get("since") ?? 0);
    const rows = source.filter((row) => (row as { seq: number }).seq >= since);
    return linkedPage(request, rows, perPage);
  });
  servers.push(server);
  return server;
}

const pipeline = (url: string, interval: string, resources = ["events"]) =>
  `[pipeline]\nname = "test"\ndataset = "data"\ncheckpoint_interval = ${interval}\n[client]\nbase_url = "${url}"\n${resources
    .map(
      (name) =>
        `[[resources]]\nname = "${name}"\nwrite_disposition = "append"\nendpoint.path = "${name}"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`,
    )
    .join("")}`;

/** A process holding `file` for `ms` (waiting up to 10 s for it first); resolves once it holds it. */
async function hold(file: string, ms: number): Promise<ReturnType<typeof Bun.spawn>> {
  const holder = Bun.spawn([bunBin, join(repoRoot, "test", "fixtures", "hold-database.ts"), file, String(ms), "10000"], {
    stdout: "pipe",
  });
  holders.push(holder);
  const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("ready");
  return holder;
}

const tableExists = async (p: Project, table: string) =>
  Number((await p.query(`select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = '${table}'`))[0]!.n) === 1;

/** Every event row committed has both of its label rows, the rows are seq 1..n, and the stored cursor is n. */
async function expectWholePrefix(p: Project): Promise<number> {
  const cursorRows = (await tableExists(p, "_rl_state"))
    ? await p.query("select last_value from data._rl_state where resource = 'events' and parent_key = ''")
    : [];
  if (!(await tableExists(p, "events"))) {
    expect(cursorRows.map((row) => String(row.last_value))).toEqual(cursorRows.length === 0 ? [] : ["0"]);
    return 0;
  }
  const [stats] = await p.query("select count(*) as n, count(distinct seq) as ids, coalesce(max(seq), 0) as hi from data.events");
  const n = Number(stats!.n);
  expect({ ids: Number(stats!.ids), hi: Number(stats!.hi) }).toEqual({ ids: n, hi: n });
  const [labels] = await p.query(
    "select count(*) as n, count(distinct l._rl_parent_id) as parents from data.events__labels l join data.events e on l._rl_parent_id = e._rl_id",
  );
  const [allLabels] = await p.query("select count(*) as n from data.events__labels");
  expect({ labels: Number(labels!.n), parents: Number(labels!.parents), all: Number(allLabels!.n) }).toEqual({
    labels: 2 * n,
    parents: n,
    all: 2 * n,
  });
  expect(cursorRows.map((row) => String(row.last_value))).toEqual([String(n)]);
  return n;
}

describe("a checkpoint stopped while it waits for the file", () => {
  test("SIGTERM while another process holds the file at a checkpoint: once the file is free the run exits 143 without committing that checkpoint's root rows without their child rows; a rerun loads every record once", async () => {
    const source = eventsOf(3000);
    const server = orderedApi(source, 10, 10);
    const p = project(pipeline(server.url, "0.2"));
    const run = spawnRun(p.pipeline);
    while (server.requests.length < 10) await Bun.sleep(10);
    // The run commits its first checkpoints meanwhile; then one waits for the file, its segments queued.
    const holder = await hold(p.database, 2500);
    await Bun.sleep(1000);
    run.proc.kill("SIGTERM");
    const code = await run.proc.exited;
    await holder.exited;
    expect({ code, output: code === 143 ? "" : await run.output }).toEqual({ code: 143, output: "" });
    const committed = await expectWholePrefix(p);
    expect(committed).toBeLessThan(source.length);

    expect((await p.run()).code).toBe(0);
    expect(await expectWholePrefix(p)).toBe(source.length);
  });
});

describe("a slow API leaves the file free between checkpoints", () => {
  test("an ordered run of small pages (50 ms each, a checkpoint a second, a table gaining columns): `sql --lock-timeout 0` gets in most of the time while it runs", async () => {
    // Every 25th record brings a field not seen before: each new column completes a segment early.
    const source = eventsOf(800).map((event) => (event.seq % 25 === 0 ? { ...event, [`note_${event.seq}`]: "x" } : event));
    const server = orderedApi(source, 5, 50);
    const p = project(pipeline(server.url, "1"));
    const run = spawnRun(p.pipeline);
    while (server.requests.length < 3) await Bun.sleep(10);
    let tries = 0;
    let refused = 0;
    while (run.proc.exitCode === null && tries < 40) {
      const ran = await restload(["sql", p.database, "select 1", "--lock-timeout", "0"]);
      tries++;
      if (ran.code !== 0) {
        expect(ran.code).toBe(75);
        refused++;
      }
      await Bun.sleep(100);
    }
    const code = await run.proc.exited;
    expect({ code, output: code === 0 ? "" : await run.output }).toEqual({ code: 0, output: "" });
    expect(tries).toBeGreaterThanOrEqual(15);
    // Only a commit burst (tens of ms a second, more on a busy machine) stands in the way; a file
    // held from a checkpoint's first segment to its COMMIT refuses nearly every try.
    expect(refused).toBeLessThanOrEqual(Math.floor(tries / 3));
    expect(await expectWholePrefix(p)).toBe(source.length);
  });
});

describe("a unit that cannot get the file", () => {
  test("held past --lock-timeout mid-run: the unit fails with E_LOCKED (not E_LOAD), its failure row is skipped with a warning, the next unit still runs and the run ends recorded", async () => {
    const source = eventsOf(400);
    let holding: Promise<ReturnType<typeof Bun.spawn>> | undefined;
    let p: Project | undefined;
    const server = orderedApi(source, 10, 20, (count) => {
      // Mid-way through the first unit: held for 2.5 s, longer than the run's 1 s lock timeout.
      if (count === 15) holding = hold(p!.database, 2500);
    });
    p = project(pipeline(server.url, "0.1", ["events", "others"]));
    const ran = await restload(["run", p.pipeline, "--lock-timeout", "1"]);
    await (await holding!)?.exited;
    expect(ran.code).toBe(75);
    expect(ran.stderr).toContain("error[E_LOCKED]");
    expect(ran.stderr).not.toContain("E_LOAD");
    expect(ran.stderr).toContain('The failure of unit "events" is not recorded in _rl_loads: E_LOCKED');
    // The second unit ran after the first failed (its requests came after the hold ended).
    expect(server.requests.some((request) => request.url.pathname === "/others")).toBe(true);
    const runs = await p.query("select status, exit_code from data._rl_runs");
    expect(runs).toEqual([{ status: "failed", exit_code: 75 }]);
    // The checkpoints committed before the hold stay, whole.
    await expectWholePrefix(p);
    expect((await p.run()).code).toBe(0);
    expect(await expectWholePrefix(p)).toBe(source.length);
  });
});

describe("a run killed with -9", () => {
  test("stands in no later run's way: the next run starts at once (--lock-timeout 0) and marks it interrupted", async () => {
    const server = orderedApi(eventsOf(2000), 10, 20);
    const p = project(pipeline(server.url, "0.2"));
    const victim = spawnRun(p.pipeline);
    while (server.requests.length < 20) await Bun.sleep(10);
    victim.proc.kill("SIGKILL");
    await victim.proc.exited;
    const next = await p.run(["--lock-timeout", "0"]);
    expect({ code: next.code, stderr: next.code === 0 ? "" : next.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await p.query("select pid, status from data._rl_runs order by started_at")).toEqual([
      { pid: victim.proc.pid, status: "interrupted" },
      { pid: process.pid, status: "succeeded" },
    ]);
    expect(await expectWholePrefix(p)).toBe(2000);
  });
});
