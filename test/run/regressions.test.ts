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
    const server = serve((request) => (request.url.pathname === "/parents" ? json([{ id: 1 }, { id: 2 }]) : json([{ id: `${request.url.pathname}` }])));
    const p = project(`[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\ntable_name = "things"\n[[resources]]\nname = "children"\ntable_name = "things"\nendpoint.path = "parents/{resources.parents.id}/children"\n`);
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(await p.query("select count(*) as n from data.things")).toEqual([{ n: 4 }]);
    expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({ things: 4 });
  });

  test("replacing a resource does not empty another unit's table that only looks like its child", async () => {
    const server = serve((request) => json(request.url.pathname === "/repos" ? [{ id: 1, tags: ["a"] }] : [{ id: 9 }]));
    const p = project(`[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "repos"\nwrite_disposition = "replace"\n[[resources]]\nname = "repos__stats"\nendpoint.path = "stats"\n`);
    expect((await p.run()).code).toBe(0);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select count(*) as n from data.repos__stats")).toEqual([{ n: 2 }]);
    expect(await p.query("select count(*) as n from data.repos__tags")).toEqual([{ n: 1 }]);
  });

  test("a nested field and a key that flatten to one name keep both values", async () => {
    const server = serve(() => json([{ id: 1, a: { b: 1 }, a__b: 2 }]));
    const p = project(`[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    const columns = (await p.query("select column_name from duckdb_columns() where schema_name = 'data' and table_name = 'items'")).map((r) => String(r.column_name));
    const extra = columns.find((name) => name.startsWith("a__b__"))!;
    expect(await p.query(`select a__b, "${extra}" as other from data.items`)).toEqual([{ a__b: 1, other: 2 }]);
  });

  test("configured headers holding a secret never reach an allowed origin", async () => {
    const cdn = serve(() => json({ data: [{ id: 2 }] }));
    const api = serve(() => json({ data: [{ id: 1 }], next: `${cdn.origin}/page2` }));
    const result = await extract(`${pipelineHead(api.url, `headers = { "X-Api-Key" = { secret = "key" }, "X-Plain" = "visible" }\nallowed_origins = ["${cdn.origin}"]`)}\n[[resources]]\nname = "items"\nendpoint.paginator = "json_link"\n`, { secrets: { key: "s3cr3t-key" } });
    expect(result.error).toBeUndefined();
    expect(api.requests[0]!.headers.get("x-api-key")).toBe("s3cr3t-key");
    expect(cdn.requests[0]!.headers.get("x-api-key")).toBeNull();
    expect(cdn.requests[0]!.headers.get("x-plain")).toBeNull();
  });

  test("a secret straddling the 200-character cut of an error excerpt is not partly shown", async () => {
    const secret = "sk_live_0123456789abcdef";
    const api = serve(() => new Response(`${"x".repeat(185)} invalid key ${secret}`, { status: 401 }));
    const result = await extract(`${pipelineHead(api.url, 'auth = { token = { secret = "key" } }')}\n[[resources]]\nname = "items"\n`, { secrets: { key: secret } });
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
    const p = project(`[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "items"\n`);
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
});
