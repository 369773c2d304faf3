// Defects found in review, each kept from coming back.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, mainTs, repoRoot, restload, runMain, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { extract, pipelineHead } from "../extract/_helpers.ts";
import { project } from "./_helpers.ts";

const servers: TestServer[] = [];
const processes: ReturnType<typeof Bun.spawn>[] = [];
afterAll(async () => {
  for (const proc of processes) proc.kill();
  for (const server of servers) await server.stop();
});
function serve(handler: Parameters<typeof startServer>[0]): TestServer {
  const server = startServer(handler);
  servers.push(server);
  return server;
}

describe("review regressions", () => {
  test("two resources of one unit writing one table_name insert each row once", async () => {
    const server = serve((request) =>
      request.url.pathname === "/parents" ? json([{ id: 1 }, { id: 2 }]) : json([{ id: `${request.url.pathname}` }]),
    );
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\ntable_name = "things"\n[[resources]]\nname = "children"\ntable_name = "things"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(await p.query("select count(*) as n from data.things")).toEqual([{ n: 4 }]);
    expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({ things: 4 });
  });

  test("replacing a resource does not empty another unit's table that only looks like its child", async () => {
    const server = serve((request) => json(request.url.pathname === "/repos" ? [{ id: 1, tags: ["a"] }] : [{ id: 9 }]));
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "repos"\nwrite_disposition = "replace"\n[[resources]]\nname = "repos__stats"\nendpoint.path = "stats"\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select count(*) as n from data.repos__stats")).toEqual([{ n: 2 }]);
    expect(await p.query("select count(*) as n from data.repos__tags")).toEqual([{ n: 1 }]);
  });

  test("a nested field and a key that flatten to one name keep both values", async () => {
    const server = serve(() => json([{ id: 1, a: { b: 1 }, a__b: 2 }]));
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "items"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const columns = (await p.query("select column_name from duckdb_columns() where schema_name = 'data' and table_name = 'items'")).map(
      (r) => String(r.column_name),
    );
    const extra = columns.find((name) => name.startsWith("a__b__"))!;
    expect(await p.query(`select a__b, "${extra}" as other from data.items`)).toEqual([{ a__b: 1, other: 2 }]);
  });

  test("configured headers holding a secret never reach an allowed origin", async () => {
    const cdn = serve(() => json({ data: [{ id: 2 }] }));
    const api = serve(() => json({ data: [{ id: 1 }], next: `${cdn.origin}/page2` }));
    const result = await extract(
      `${pipelineHead(api.url, `headers = { "X-Api-Key" = { secret = "key" }, "X-Plain" = "visible" }\nallowed_origins = ["${cdn.origin}"]`)}\n[[resources]]\nname = "items"\nendpoint.paginator = "json_link"\n`,
      { secrets: { key: "s3cr3t-key" } },
    );
    expect(result.error).toBeUndefined();
    expect(api.requests[0]!.headers.get("x-api-key")).toBe("s3cr3t-key");
    expect(cdn.requests[0]!.headers.get("x-api-key")).toBeNull();
    expect(cdn.requests[0]!.headers.get("x-plain")).toBeNull();
  });

  test("a secret straddling the 200-character cut of an error excerpt is not partly shown", async () => {
    const secret = "sk_live_0123456789abcdef";
    const api = serve(() => new Response(`${"x".repeat(185)} invalid key ${secret}`, { status: 401 }));
    const result = await extract(`${pipelineHead(api.url, 'auth = { token = { secret = "key" } }')}\n[[resources]]\nname = "items"\n`, {
      secrets: { key: secret },
    });
    expect(result.error!.message).not.toContain("sk_l");
    expect(result.error!.message).toContain("invalid key *");
  });

  test("an empty credential file counts as missing", async () => {
    const credentials = tempDir();
    writeFileSync(join(credentials, "github_token"), "");
    const result = await runMain(["check", join(repoRoot, "configs", "github.toml")], { CREDENTIALS_DIRECTORY: credentials });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`${join(credentials, "github_token")} (empty)`);
  });

  test("--database is relative to the working directory, for run as for serve", async () => {
    const server = serve(() => json([{ id: 1 }]));
    const p = project(
      `[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "items"\n`,
    );
    const cwd = tempDir();
    mkdirSync(join(cwd, "out"));
    const result = await restload(["run", p.pipeline, "--database", "out/here.duckdb"], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`database: ${join(cwd, "out", "here.duckdb")}`);
  });

  test("extract stops at the first SIGINT with exit 130", async () => {
    const server = serve(async (request) => {
      await Bun.sleep(100);
      const page = Number(request.url.searchParams.get("page") ?? 0);
      return json([{ page }], { headers: { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } });
    });
    const dir = tempDir();
    writeFileSync(join(dir, "p.toml"), `[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n`);
    const proc = Bun.spawn([bunBin, mainTs, "extract", join(dir, "p.toml")], { cwd: repoRoot, stdout: "ignore", stderr: "pipe" });
    processes.push(proc);
    while (server.requests.length < 2) await Bun.sleep(10);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    expect(await new Response(proc.stderr).text()).toContain("interrupted by SIGINT");
  });
  test("an API whose next link, next URL or cursor comes back again fails the unit naming it, instead of paging forever", async () => {
    const server = serve((request) => {
      const path = request.url.pathname;
      if (path.startsWith("/link")) return json([{ id: 1 }], { headers: { link: `<${server.origin}/link?page=2>; rel="next"` } });
      if (path.startsWith("/body")) return json({ data: [{ id: 1 }], next: `${server.origin}/body?p=2` });
      return json({ data: [{ id: 1 }], cursors: { next: "abc" } });
    });
    const cases = [
      { path: "link", paginator: '"header_link"', url: "/link?page=2", repeats: "page 3 would repeat the request of page 2" },
      {
        path: "body",
        paginator: '{ type = "json_link", next_url_path = "next" }',
        url: "/body?p=2",
        repeats: "page 3 would repeat the request of page 2",
      },
      {
        path: "cursor",
        paginator: '{ type = "cursor", cursor_path = "cursors.next", cursor_param = "after" }',
        url: "/cursor?after=abc",
        repeats: "page 3 would repeat the request of page 2",
      },
    ];
    for (const { path, paginator, url, repeats } of cases) {
      const p = project(
        `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nendpoint.path = "${path}"\nendpoint.paginator = ${paginator}\n`,
      );
      server.requests.length = 0;
      const result = await p.run();
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`error[E_PAGINATE]: Cannot follow the pages of resource "items": ${repeats}`);
      expect(result.stdout).toContain(url);
      expect(server.requests.length).toBeLessThan(5);
      expect(await p.query("select count(*) as n from duckdb_tables() where table_name = 'items'")).toEqual([{ n: 0 }]);
    }
  });

  test("a child with a cursor under a parent that comes twice in one run loads its records once", async () => {
    const server = serve((request) => {
      if (request.url.pathname === "/p") return json([{ n: 1 }, { n: 2 }, { n: 1 }]);
      const parent = Number(/^\/p\/(\d+)\/k$/.exec(request.url.pathname)?.[1]);
      return json([
        { id: parent * 10 + 1, t: 1 },
        { id: parent * 10 + 2, t: 2 },
      ]);
    });
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "p"\n[[resources]]\nname = "k"\nendpoint.path = "p/{resources.p.n}/k"\nendpoint.incremental = { cursor_path = "t", initial_value = 0 }\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id from data.k order by id")).toEqual([{ id: 11 }, { id: 12 }, { id: 21 }, { id: 22 }]);
    expect(server.requests.filter((request) => request.url.pathname === "/p/1/k")).toHaveLength(1);
  });

  test("cursor values that name no real moment or day fail the unit clearly; a DuckDB-style timestamp is one", async () => {
    const state = { records: [] as unknown[] };
    const server = serve(() => json(state.records));
    const pipeline = (initial: string) =>
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "items"\nendpoint.incremental = { cursor_path = "u", initial_value = "${initial}" }\n`;
    for (const [initial, bad] of [
      ["2024-01-01T00:00:00Z", "0000-00-00 00:00:00"],
      ["2024-01-01T00:00:00Z", "2024-13-01T00:00:00Z"],
      ["2024-01-01", "2024-02-30"],
    ] as const) {
      state.records = [{ id: 1, u: bad }];
      const p = project(pipeline(initial));
      const result = await p.run();
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`Cannot compare cursor values "${bad}" (text) and "${initial}"`);
      expect(result.stdout).toContain('of resource "items"');
      expect(await p.query("select count(*) as n from data._rl_state")).toEqual([{ n: 0 }]);
    }
    state.records = [
      { id: 1, u: "2024-01-15 10:00:00+00" },
      { id: 2, u: "2024-01-15T11:00:00+01:00" },
    ];
    const p = project(pipeline("2024-01-01T00:00:00Z"));
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select last_value, value_type from data._rl_state")).toEqual([
      { last_value: "2024-01-15 10:00:00+00", value_type: "timestamp" },
    ]);
  });
});
