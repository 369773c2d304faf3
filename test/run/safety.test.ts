// Run safety: kill -9 at every crash point and at random moments, SIGTERM, the live status file,
// and the database lock, with real processes.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, randomKillDelays, spawnRun } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const pages = 5;
const perPage = 20;
const source = Array.from({ length: pages * perPage }, (_, i) => ({ id: i + 1, title: `item ${i + 1}`, tags: [`t${i % 3}`, `u${i % 5}`] }));

/** A Link-paginated API of `source`, each page after `delayMs`. */
function slowApi(delayMs: number): TestServer {
  const server = startServer(async (request) => {
    await Bun.sleep(delayMs);
    const page = Number(request.url.searchParams.get("page") ?? 0);
    const next = page + 1 < pages ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : {};
    return json(source.slice(page * perPage, (page + 1) * perPage), { headers: next });
  });
  servers.push(server);
  return server;
}

const pipelineFor = (url: string, secret = false) =>
  `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${url}"\n${secret ? 'auth = { token = { secret = "canary" } }\n' : ""}[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`;

/** The tables equal the source exactly, and _rl_loads agrees with them. */
async function expectEqualsSource(p: ReturnType<typeof project>): Promise<void> {
  expect(await p.query("select id, title from data.items order by id")).toEqual(source.map(({ id, title }) => ({ id, title })));
  expect(await p.query("select count(*) as n from data.items__tags")).toEqual([{ n: source.length * 2 }]);
  expect(await p.query("select count(*) as n from data.items__tags where _rl_root_id not in (select _rl_id from data.items)")).toEqual([
    { n: 0 },
  ]);
  const [last] = await p.query(
    "select rows_by_table::varchar as rows from data._rl_loads where status = 'committed' order by finished_at desc limit 1",
  );
  expect(JSON.parse(String(last!.rows))).toEqual({ items: source.length, items__tags: source.length * 2 });
}

describe("kill -9 never loses or duplicates a row", () => {
  for (const point of ["page_1", "page_3", "before_commit", "after_commit"]) {
    test(`killed at ${point}: the unit is all or nothing, and a rerun equals the source`, async () => {
      const server = slowApi(0);
      const p = project(pipelineFor(server.url));
      const crashed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: `${point}:items` }).proc;
      await crashed.exited;
      expect(crashed.signalCode).toBe("SIGKILL");
      const [count] = await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = 'items'");
      if (point === "after_commit") await expectEqualsSource(p);
      else if (count!.n === 1) expect(await p.query("select count(*) as n from data.items")).toEqual([{ n: 0 }]);
      const rerun = await p.run();
      expect(rerun.code).toBe(0);
      await expectEqualsSource(p);
      expect(existsSync(`${p.database}.stage`)).toBe(false);
      const runs = await p.query("select status, error from data._rl_runs order by started_at");
      expect(runs[0]).toEqual({ status: "interrupted", error: "the process ended before the run finished (killed or crashed)" });
      expect(runs[1]!.status).toBe("succeeded");
    });
  }

  test("killed at random moments, three times over, then rerun: the tables equal the source", async () => {
    const server = slowApi(40);
    const p = project(pipelineFor(server.url));
    const kills = randomKillDelays(
      [
        [30, 100],
        [120, 150],
        [200, 300],
      ],
      "test/run/safety.test.ts",
    );
    await kills.replayOnFailure(async () => {
      await kills.killRuns(p.pipeline, async () => {
        // After every kill the data is either untouched or one whole committed unit.
        const [exists] = await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = 'items'");
        if (exists!.n === 1) {
          const [rows] = await p.query("select count(*) as n from data.items");
          expect([0, source.length]).toContain(Number(rows!.n));
        }
      });
      expect((await p.run()).code).toBe(0);
      await expectEqualsSource(p);
    });
  });
});

describe("signals", () => {
  test("SIGTERM mid-run: exit 143, the unit rolled back, the run recorded as interrupted; the next run completes", async () => {
    const server = slowApi(150);
    const p = project(pipelineFor(server.url));
    const proc = spawnRun(p.pipeline).proc;
    while (server.requests.length < 2) await Bun.sleep(10);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(await p.query("select status, error from data._rl_runs")).toEqual([{ status: "interrupted", error: "interrupted by SIGTERM" }]);
    expect(await p.query("select status from data._rl_loads")).toEqual([{ status: "failed" }]);
    expect(await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = 'items'")).toEqual([
      { n: 0 },
    ]);
    expect((await p.run()).code).toBe(0);
    await expectEqualsSource(p);
  });

  test("SIGINT exits 130", async () => {
    const server = slowApi(150);
    const p = project(pipelineFor(server.url));
    const proc = spawnRun(p.pipeline).proc;
    while (server.requests.length < 1) await Bun.sleep(10);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
  });
});

describe("the live status file", () => {
  test("is valid JSON whenever a reader looks, shows progress, ends with the run's state, and holds no secret", async () => {
    const canary = "c4n4ry+/=&st4tus";
    const server = slowApi(60);
    const p = project(pipelineFor(server.url, true));
    const statusPath = `${p.database}.data.status.json`;
    const proc = spawnRun(p.pipeline, { RESTLOAD_SECRET_CANARY: canary }).proc;
    let reads = 0;
    let sawRunning = false;
    let maxRecords = 0;
    while (proc.exitCode === null) {
      if (existsSync(statusPath)) {
        const text = readFileSync(statusPath, "utf8");
        const status = JSON.parse(text);
        reads++;
        if (status.state === "running") sawRunning = true;
        maxRecords = Math.max(maxRecords, status.resources.items?.records ?? 0);
        expect(text).not.toContain(canary);
      }
      await Bun.sleep(2);
    }
    expect(await proc.exited).toBe(0);
    expect(reads).toBeGreaterThan(20);
    expect(sawRunning).toBe(true);
    expect(maxRecords).toBeGreaterThan(0);
    const final = JSON.parse(readFileSync(statusPath, "utf8"));
    expect(final).toMatchObject({
      state: "succeeded",
      pipeline: "test",
      units: { items: "committed" },
      resources: { items: { pages, records: source.length, retries: 0, errors: [] } },
    });
    expect(readFileSync(statusPath, "utf8")).not.toContain(encodeURIComponent(canary));
  });
});

describe("after kill -9", () => {
  test("the next run removes the status file's temp files a killed run left, and nothing else", async () => {
    const server = slowApi(0);
    const p = project(pipelineFor(server.url));
    const statusPath = `${p.database}.data.status.json`;
    writeFileSync(`${statusPath}.424242.tmp`, "{ half a docum");
    writeFileSync(`${statusPath}.notes.tmp`, "not ours");
    expect((await p.run()).code).toBe(0);
    expect(existsSync(`${statusPath}.424242.tmp`)).toBe(false);
    expect(existsSync(`${statusPath}.notes.tmp`)).toBe(true);
    expect(JSON.parse(readFileSync(statusPath, "utf8")).state).toBe("succeeded");
  });
});

describe("the database lock", () => {
  test("a second run waits --lock-timeout, then exits 75 naming the holder; the first is unaffected", async () => {
    const server = slowApi(200);
    const p = project(pipelineFor(server.url));
    const first = spawnRun(p.pipeline).proc;
    while (!existsSync(`${p.database}.data.status.json`)) await Bun.sleep(10);
    const second = await p.run(["--lock-timeout", "0.5"]);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(
      `error[E_LOCKED]: Cannot run pipeline "test" into dataset "data" of database "${p.database}" as process ${first.pid}`,
    );
    expect(await first.exited).toBe(0);
    const third = await p.run(["--lock-timeout", "30"]);
    expect(third.code).toBe(0);
    await expectEqualsSource(p);
  });
});
