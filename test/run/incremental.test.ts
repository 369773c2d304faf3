// Incremental loading: only what changed is fetched, nothing at a boundary is skipped or loaded
// twice, the cursor moves only with committed rows.
import { afterAll, describe, expect, test } from "bun:test";
import { startDemoApi, type DemoApi } from "../../scripts/demo-api.ts";
import { restload, runMain } from "../helpers.ts";
import { json, startServer } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const stops: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const server of stops) await server.stop();
});

function demo(issues: number): DemoApi {
  const api = startDemoApi({ issues });
  stops.push(api);
  return api;
}

const githubLike = (url: string, extra = "") => `[pipeline]
name = "test"
dataset = "data"
[client]
base_url = "${url}"
[resource_defaults]
primary_key = "id"
write_disposition = "merge"
endpoint.params.per_page = 50
[[resources]]
name = "issues"
endpoint.path = "issues"
endpoint.paginator = "header_link"
endpoint.params.state = "all"
endpoint.params.since = { type = "incremental", cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z" }
${extra}`;

describe("incremental runs", () => {
  test("a second run fetches only what changed (request log) and merges it in place", async () => {
    const api = demo(120);
    const p = project(githubLike(api.url));
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select count(*) as n from data.issues")).toEqual([{ n: 120 }]);
    const [state] = await p.query(
      "select last_value, value_type, json_array_length(boundary_keys) as keys from data._rl_state where resource = 'issues'",
    );
    expect(state).toEqual({ last_value: "2024-01-06T00:30:00Z", value_type: "timestamp", keys: 1 });

    api.requests.length = 0;
    api.touch([3, 50, 77], "2024-03-01T12:00:00Z");
    const second = await p.run(["--json"]);
    expect(second.code).toBe(0);
    // One request, from the stored cursor: the API returns the 3 changed issues and the boundary one.
    expect(api.requests).toEqual([`/repos/acme/widgets/issues?per_page=50&state=all&since=2024-01-06T00%3A30%3A00Z`]);
    expect(JSON.parse(second.stdout).units[0].rows_by_table.issues).toBe(3);
    expect(await p.query("select count(*) as n, count(distinct id) as ids from data.issues")).toEqual([{ n: 120, ids: 120 }]);
    expect(await p.query("select number, updated_at::varchar as u from data.issues where number in (3, 50, 77) order by number")).toEqual([
      { number: 3, u: "2024-03-01 12:00:00+00" },
      { number: 50, u: "2024-03-01 12:00:00+00" },
      { number: 77, u: "2024-03-01 12:00:00+00" },
    ]);
    const [moved] = await p.query("select last_value, json_array_length(boundary_keys) as keys from data._rl_state");
    expect(moved).toEqual({ last_value: "2024-03-01T12:00:00Z", keys: 3 });

    // Nothing changed: the boundary records come back and are recognised, nothing is loaded.
    const third = await p.run(["--json"]);
    expect(JSON.parse(third.stdout).rows).toBe(0);
  });

  test("append + cursor: the record equal to the stored boundary is not loaded twice, with a primary key and without", async () => {
    for (const key of ['primary_key = "id"', ""]) {
      // This API ignores the since parameter: the client-side filter has to do the work.
      const records = [
        { id: 1, ts: "2024-01-01T00:00:00Z" },
        { id: 2, ts: "2024-01-02T00:00:00Z" },
        { id: 3, ts: "2024-01-02T00:00:00Z" },
      ];
      const server = startServer(() => json(records));
      stops.push(server);
      const p = project(
        `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "events"\n${key}\nwrite_disposition = "append"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "ts", initial_value = "2023-12-31T00:00:00Z", start_param = "since" }\n`,
      );
      expect((await p.run()).code).toBe(0);
      records.push({ id: 4, ts: "2024-01-02T00:00:00Z" }, { id: 5, ts: "2024-01-03T00:00:00Z" });
      expect((await p.run()).code).toBe(0);
      expect((await p.run()).code).toBe(0);
      expect(await p.query("select id from data.events order by id")).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]);
      expect(server.requests[1]!.url.searchParams.get("since")).toBe("2024-01-02T00:00:00Z");
    }
  });

  test("an end_value window loads exactly the window and leaves the stored cursor alone", async () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, n: i + 1 }));
    const server = startServer(() => json(records));
    stops.push(server);
    const head = `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n`;
    const p = project(`${head}endpoint.incremental = { cursor_path = "n", initial_value = 0, start_param = "from" }\n`);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select last_value from data._rl_state")).toEqual([{ last_value: "10" }]);
    const window = project(
      `${head}endpoint.incremental = { cursor_path = "n", initial_value = 3, end_value = 6, start_param = "from", end_param = "to" }\n`,
    );
    await runMain(["run", p.pipeline]); // nothing new
    const backfill = await runMain(["run", window.pipeline, "--database", p.database, "--json"]);
    expect(backfill.code).toBe(0);
    expect(JSON.parse(backfill.stdout).units[0].rows_by_table.items).toBe(3);
    expect(server.requests.at(-1)!.url.search).toBe("?from=3&to=6");
    expect(await p.query("select last_value from data._rl_state")).toEqual([{ last_value: "10" }]);
  });

  test('row_order = "desc" stops at the first page that leaves the range (request log)', async () => {
    const all = Array.from({ length: 40 }, (_, i) => ({ id: 40 - i, n: 40 - i }));
    const server = startServer((request) => {
      const page = Number(request.url.searchParams.get("page") ?? 0);
      return json(all.slice(page * 10, page * 10 + 10), {
        headers: page < 3 ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : {},
      });
    });
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.incremental = { cursor_path = "n", initial_value = 25, row_order = "desc" }\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(server.requests.map((r) => r.url.searchParams.get("page") ?? "0")).toEqual(["0", "1"]);
    expect(await p.query("select min(n) as lo, max(n) as hi, count(*) as c from data.items")).toEqual([{ lo: 25, hi: 40, c: 16 }]);
  });

  test("lag reloads the records inside the lag window (merge keeps them single)", async () => {
    const records = [
      { id: 1, n: 10 },
      { id: 2, n: 20 },
    ];
    const server = startServer(() => json(records));
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "n", initial_value = 0, start_param = "from", lag = 15 }\n`,
    );
    await p.run();
    const second = await p.run(["--json"]);
    expect(server.requests[1]!.url.searchParams.get("from")).toBe("5");
    expect(JSON.parse(second.stdout).units[0].rows_by_table.items).toBe(2);
    expect(await p.query("select count(*) as n from data.items")).toEqual([{ n: 2 }]);
  });

  test("on_cursor_value_missing: raise fails the unit naming the resource; include keeps; exclude drops", async () => {
    const records = [{ id: 1, n: 1 }, { id: 2 }];
    const server = startServer(() => json(records));
    stops.push(server);
    const make = (mode: string) =>
      project(
        `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "n", initial_value = 0, on_cursor_value_missing = "${mode}" }\n`,
      );
    const raise = make("raise");
    const raised = await raise.run();
    expect(raised.code).toBe(1);
    expect(raised.stdout).toContain('Cannot read the cursor of resource "items": a record has no value at "n"');
    const include = make("include");
    await include.run();
    expect(await include.query("select count(*) as n from data.items")).toEqual([{ n: 2 }]);
    const exclude = make("exclude");
    await exclude.run();
    expect(await exclude.query("select id from data.items")).toEqual([{ id: 1 }]);
  });

  test("cursor values of mixed types fail clearly", async () => {
    const server = startServer(() =>
      json([
        { id: 1, n: 5 },
        { id: 2, n: "2024-01-01T00:00:00Z" },
      ]),
    );
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "n", initial_value = 0 }\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('of resource "items": a cursor keeps one type');
  });

  test("--full-refresh resets the cursor and replaces the data", async () => {
    const api = demo(30);
    const p = project(githubLike(api.url));
    await p.run();
    api.requests.length = 0;
    const result = await p.run(["--full-refresh", "--json"]);
    expect(result.code).toBe(0);
    expect(api.requests[0]).toContain("since=2024-01-01T00%3A00%3A00Z");
    expect(JSON.parse(result.stdout).rows).toBe(30 + 30 + 15);
    expect(await p.query("select count(*) as n from data.issues")).toEqual([{ n: 30 }]);
  });
});

describe("restload state", () => {
  test("shows cursors, seeds one with --set, clears with --reset --yes", async () => {
    const api = demo(20);
    const p = project(githubLike(api.url));
    await p.run();
    const shown = await runMain(["state", p.pipeline, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject([
      { resource: "issues", parent_key: "", cursor_path: "updated_at", last_value: "2024-01-01T20:30:00Z", value_type: "timestamp" },
    ]);
    expect((await runMain(["state", p.pipeline, "--set", "issues=2024-01-01T10:00:00Z"])).code).toBe(0);
    api.requests.length = 0;
    await p.run();
    expect(api.requests[0]).toContain("since=2024-01-01T10%3A00%3A00Z");
    const refused = await restload(["state", p.pipeline, "--reset", "issues"]);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toContain("needs --yes");
    expect((await runMain(["state", p.pipeline, "--reset", "issues", "--yes"])).stdout).toBe("cleared 1 cursor of issues\n");
    expect(JSON.parse((await runMain(["state", p.pipeline, "--json"])).stdout)).toEqual([]);
    expect((await runMain(["state", p.pipeline, "--reset", "nope", "--yes"])).code).toBe(78);
  });
});

describe("incremental forms", () => {
  const head = (url: string) =>
    `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${url}"\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n`;

  test("{incremental.start_value} in a POST body and params, converted to epoch seconds; the second run starts from the stored cursor", async () => {
    const records = [
      { id: 1, ts: "2024-01-01T00:00:10Z" },
      { id: 2, ts: "2024-01-01T00:00:20Z" },
    ];
    const server = startServer(() => json(records));
    stops.push(server);
    const p = project(
      `${head(server.url)}endpoint.method = "POST"\nendpoint.json = { filter = { after = "{incremental.start_value}" } }\nendpoint.params.from = "{incremental.start_value}"\nendpoint.incremental = { cursor_path = "ts", initial_value = "2024-01-01T00:00:00Z", convert = "epoch_seconds" }\n`,
    );
    await p.run();
    await p.run();
    expect(server.requests.map((r) => [r.url.searchParams.get("from"), JSON.parse(r.body).filter.after])).toEqual([
      ["1704067200", 1704067200],
      ["1704067220", 1704067220],
    ]);
  });

  test("convert = { module, export } writes the cursor through the user's function", async () => {
    const server = startServer(() => json([{ id: 1, n: 5 }]));
    stops.push(server);
    const p = project(
      `${head(server.url)}endpoint.incremental = { cursor_path = "n", initial_value = 1, start_param = "from", convert = { module = "./convert.ts", export = "hex" } }\n`,
    );
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${p.dir}/convert.ts`, "export const hex = (value: number) => `0x${value.toString(16)}`;\n");
    expect((await p.run()).code).toBe(0);
    await p.run();
    expect(server.requests.map((r) => r.url.searchParams.get("from"))).toEqual(["0x1", "0x5"]);
  });

  test('last_value_func = "min" walks backwards; range_start = "open" skips the start itself', async () => {
    const records = [
      { id: 1, n: 10 },
      { id: 2, n: 7 },
      { id: 3, n: 5 },
      { id: 4, n: 12 },
    ];
    const server = startServer(() => json(records));
    stops.push(server);
    const p = project(
      `${head(server.url)}endpoint.incremental = { cursor_path = "n", initial_value = 10, last_value_func = "min", range_start = "open" }\n`,
    );
    await p.run();
    expect(await p.query("select id from data.items order by id")).toEqual([{ id: 2 }, { id: 3 }]);
    expect(await p.query("select last_value from data._rl_state")).toEqual([{ last_value: "5" }]);
  });

  test("date cursors compare as dates", async () => {
    const records = [
      { id: 1, day: "2024-01-09" },
      { id: 2, day: "2024-01-10" },
      { id: 3, day: "2024-02-01" },
    ];
    const server = startServer(() => json(records));
    stops.push(server);
    const p = project(
      `${head(server.url)}endpoint.incremental = { cursor_path = "day", initial_value = "2024-01-10", start_param = "since" }\n`,
    );
    await p.run();
    expect(await p.query("select id from data.items order by id")).toEqual([{ id: 2 }, { id: 3 }]);
    expect(await p.query("select last_value, value_type from data._rl_state")).toEqual([{ last_value: "2024-02-01", value_type: "date" }]);
  });
});
