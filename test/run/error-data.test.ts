// Failures as data: code, message, hint, context and exit code reach --json, JSON log events and
// `_rl_loads.error_data` / `_rl_runs.error_data`, secrets masked; a record that does not fit is E_DATA.
import { describe, expect, test } from "bun:test";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const canary = "CANARYkey8472";
const withKey = (url: string) =>
  `${testHead(url)}auth = { type = "api_key", name = "api_key", api_key = { secret = "key" }, location = "query" }\n`;

describe("a failed unit's error carries its context", () => {
  test("into the --json summary, the unit_failed event and _rl_loads / _rl_runs, with the secret masked", async () => {
    const server = startServer((request) =>
      request.url.pathname === "/good" ? json([{ id: 1 }]) : json({ message: "gone" }, { status: 410 }),
    );
    servers.push(server);
    const p = project(`${withKey(server.url)}[[resources]]\nname = "good"\n[[resources]]\nname = "gone"\n`);
    const result = await p.run(["--json", "--log-format", "json"], { RESTLOAD_SECRET_KEY: canary });
    expect(result.code).toBe(1);
    const expected = {
      code: "E_HTTP",
      message: expect.stringContaining('Cannot fetch page 1 of resource "gone" as the server returned 410'),
      hint: expect.any(String),
      context: { resource: "gone", url: `${server.origin}/gone` },
      problems: [],
      exit_code: 1,
    };
    const summary = JSON.parse(result.stdout);
    expect(summary.units.find((unit: { unit: string }) => unit.unit === "gone").error).toEqual(expected);
    const events = result.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const failed = events.filter((event) => event.event === "unit_failed");
    expect(failed).toEqual([
      { time: expect.any(String), level: "error", event: "unit_failed", run_id: summary.run_id, unit: "gone", ...expected },
    ]);
    const loads = await p.query(
      "select unit, error, error_data->>'$.code' as code, error_data->>'$.context.resource' as resource, error_data->>'$.context.url' as url, error_data->>'$.exit_code' as exit_code from data._rl_loads order by unit",
    );
    expect(loads).toEqual([
      {
        unit: "gone",
        error: expect.stringMatching(/^E_HTTP: Cannot fetch page 1 of resource "gone"/),
        code: "E_HTTP",
        resource: "gone",
        url: `${server.origin}/gone`,
        exit_code: "1",
      },
      { unit: "good", error: null, code: null, resource: null, url: null, exit_code: null },
    ]);
    const [run] = await p.query("select error, error_data::varchar as data from data._rl_runs");
    expect(run!.error).toMatch(/^E_HTTP: Cannot fetch page 1 of resource "gone"/);
    expect(JSON.parse(String(run!.data))).toEqual({ ...expected, message: expect.any(String), hint: expect.any(String) });
    const everything = JSON.stringify([result, loads, run]);
    expect(everything).not.toContain(canary);
    expect(everything).toContain("api_key=***");
  });

  test("an error that ends the whole run carries its context in run_failed and the --json error object", async () => {
    const p = project(`${testHead("http://127.0.0.1:1/")}[[resources]]\nname = "items"\nendpoint.paht = "/x"\n`);
    const result = await p.run(["--json", "--log-format", "json"]);
    expect(result.code).toBe(78);
    const output = JSON.parse(result.stdout);
    expect(output).toEqual({
      ok: false,
      error: {
        code: "E_CONFIG",
        message: expect.any(String),
        hint: expect.any(String),
        context: { file: p.pipeline },
        problems: [expect.objectContaining({ path: expect.stringContaining("resources[0].endpoint") })],
        exit_code: 78,
      },
    });
    const [event, last] = result.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    // No run began: no run id.
    expect(event).toEqual({ time: expect.any(String), level: "error", event: "run_failed", run_id: null, ...output.error });
    expect(last).toMatchObject({ event: "run_finished", run_id: null, status: "failed", exit_code: 78 });
  });
});

describe("E_DATA", () => {
  test("a parent record without the field a child's placeholder reads fails its unit with E_DATA and exit 1, not 78", async () => {
    const server = startServer((request) => (request.url.pathname === "/parents" ? json([{ id: 1, name: "a" }]) : json([{ id: 10 }])));
    servers.push(server);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.slug}/children"\n`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      status: "failed",
      exit_code: 1,
      units: [{ unit: "parents", status: "failed", error: { code: "E_DATA", context: { resource: "children" }, exit_code: 1 } }],
    });
    expect(
      await p.query("select error_data->>'$.code' as code, error_data->>'$.context.resource' as resource from data._rl_loads"),
    ).toEqual([{ code: "E_DATA", resource: "children" }]);
    expect(await p.query("select exit_code, error_data->>'$.code' as code from data._rl_runs")).toEqual([{ exit_code: 1, code: "E_DATA" }]);
  });

  test("a parent field holding a relative URL, with no base_url to resolve it, fails its unit with E_DATA and exit 1", async () => {
    const server = startServer((request) =>
      request.url.pathname === "/parents" ? json([{ id: 1, href: "parents/1/children" }]) : json([{ id: 10 }]),
    );
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[[resources]]\nname = "parents"\nendpoint.path = "${server.url}/parents"\n[[resources]]\nname = "children"\nendpoint.path = "{resources.parents.href}"\n`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      units: [{ unit: "parents", status: "failed", error: { code: "E_DATA", context: { resource: "children" }, exit_code: 1 } }],
    });
    expect(await p.query("select count(*)::int as n from data._rl_loads where status = 'committed'")).toEqual([{ n: 0 }]);
  });

  test("a parent field holding an absolute URL needs no base_url: the children load", async () => {
    const server = startServer((request) =>
      request.url.pathname === "/parents" ? json([{ id: 1, href: `${server.url}/parents/1/children` }]) : json([{ id: 10 }, { id: 11 }]),
    );
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[[resources]]\nname = "parents"\nendpoint.path = "${server.url}/parents"\n[[resources]]\nname = "children"\nendpoint.path = "{resources.parents.href}"\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id from data.children order by id")).toEqual([{ id: 10 }, { id: 11 }]);
  });
});
