// Module resources: an async generator function of the user's file yields the records, with
// ctx.fetch (restload's client), ctx.incremental, ctx.parent and ctx.log; whole runs against local
// servers, from source, from the compiled binary and on Deno. ctx.fetch's bodies and headers,
// failures and stopping are in module-resources-fetch.test.ts.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startDemoApi } from "../../scripts/demo-api.ts";
import { compiledBinary, denoBin, repoRoot, run, runMain, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { moduleProject, project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

function serve(handler: Parameters<typeof startServer>[0]): TestServer {
  const server = startServer(handler);
  servers.push(server);
  return server;
}

interface Exported {
  id: number | bigint;
  title: string;
  updated_at: string;
}

/**
 * An export-job API: POST /exports starts a job over the records updated since the body's `since`;
 * GET /exports/{id} is "running" until its fourth poll (the second answered 503 with Retry-After: 0);
 * GET /exports/{id}/result is the records as NDJSON text, big integers written exactly.
 */
function exportJobApi(initial: Exported[]) {
  const state = { records: initial, jobs: new Map<string, { records: Exported[]; polls: number }>(), posted: [] as unknown[] };
  const server = serve((request) => {
    const path = request.url.pathname;
    if (request.method === "POST" && path === "/exports") {
      const body = JSON.parse(request.body || "{}") as { since?: string };
      state.posted.push(body);
      const since = body.since;
      const id = `job-${state.jobs.size + 1}`;
      state.jobs.set(id, { records: since === undefined ? state.records : state.records.filter((r) => r.updated_at >= since), polls: 0 });
      return json({ id }, { status: 202 });
    }
    const poll = /^\/exports\/([^/]+)$/.exec(path);
    if (poll) {
      const job = state.jobs.get(poll[1]!)!;
      job.polls++;
      if (job.polls === 2) return json({ message: "busy" }, { status: 503, headers: { "retry-after": "0" } });
      return json({ status: job.polls >= 4 ? "done" : "running" });
    }
    const result = /^\/exports\/([^/]+)\/result$/.exec(path);
    if (result) {
      const lines = state.jobs
        .get(result[1]!)!
        .records.map((record) =>
          JSON.stringify(record, (_key, value) => (typeof value === "bigint" ? JSON.rawJSON(value.toString()) : value)),
        );
      return new Response(`${lines.join("\n")}\n`, { headers: { "content-type": "application/x-ndjson" } });
    }
    return json({ message: "Not Found" }, { status: 404 });
  });
  return { server, state };
}

const exportJobModule = `export async function* exportsJob(ctx) {
  const since = ctx.incremental?.start_value;
  const started = await ctx.fetch("exports", { method: "POST", body: JSON.stringify(since ? { since } : {}) });
  const { id } = await started.json();
  ctx.log(\`export job \${id} started\`);
  for (;;) {
    const job = await (await ctx.fetch(\`exports/\${id}\`)).json();
    if (job.status === "done") break;
    await ctx.sleep(5);
  }
  const response = await ctx.fetch(\`exports/\${id}/result\`);
  const lines = (await response.text()).split("\\n").filter((line) => line.trim() !== "");
  yield lines.slice(0, 2).map((line) => ctx.parseJson(line));
  yield lines.slice(2).map((line) => ctx.parseJson(line));
}
`;

const exportJobResource = `[[resources]]
name = "exports"
module = "./exports.ts"
export = "exportsJob"
primary_key = "id"
write_disposition = "merge"
incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z" }
`;

const firstRecords: Exported[] = [
  { id: 1, title: "one", updated_at: "2024-02-01T00:00:00Z" },
  { id: 2, title: "two", updated_at: "2024-02-02T00:00:00Z" },
  { id: 9007199254740993n, title: "big", updated_at: "2024-02-03T00:00:00Z" },
  { id: 4, title: "four", updated_at: "2024-02-04T00:00:00Z" },
  { id: 5, title: "five", updated_at: "2024-02-05T00:00:00Z" },
];

describe("an asynchronous export job as a module resource", () => {
  test("starts the job, polls it through a retried 503, loads every NDJSON record exactly, then merges only what is newer", async () => {
    const { server, state } = exportJobApi(firstRecords);
    const p = moduleProject(testHead(server.url) + exportJobResource, exportJobModule);

    const first = await p.run(["--json"]);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    // POST, four polls (the 503 one retried by ctx.fetch), the result.
    expect(server.requests.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      "POST /exports",
      "GET /exports/job-1",
      "GET /exports/job-1",
      "GET /exports/job-1",
      "GET /exports/job-1",
      "GET /exports/job-1/result",
    ]);
    expect(summary.requests).toBe(6);
    expect(summary.retries).toBe(1);
    expect(first.stderr).toContain("unit exports: exports: export job job-1 started");
    // The first run asks from initial_value.
    expect(state.posted).toEqual([{ since: "2024-01-01T00:00:00Z" }]);
    expect(await p.query("select id::varchar as id, title from data.exports order by updated_at")).toEqual([
      { id: "1", title: "one" },
      { id: "2", title: "two" },
      { id: "9007199254740993", title: "big" },
      { id: "4", title: "four" },
      { id: "5", title: "five" },
    ]);
    expect(await p.query("select resource, last_value from data._rl_state")).toEqual([
      { resource: "exports", last_value: "2024-02-05T00:00:00Z" },
    ]);

    // Record 2 changes and record 6 is new; the job is asked only for what changed since the cursor.
    state.records = [
      ...firstRecords.filter((record) => record.id !== 2),
      { id: 2, title: "two, edited", updated_at: "2024-03-01T00:00:00Z" },
      { id: 6, title: "six", updated_at: "2024-03-02T00:00:00Z" },
    ];
    const second = await p.run(["--json", "--log-format", "json"]);
    expect(second.code).toBe(0);
    expect(state.posted[1]).toEqual({ since: "2024-02-05T00:00:00Z" });
    const logged = second.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .find((line) => line.event === "module_log");
    expect(logged).toMatchObject({ level: "info", unit: "exports", resource: "exports", message: "export job job-2 started" });
    // The job returned the boundary record (5) again: already loaded, it is not loaded twice.
    expect(JSON.parse(second.stdout).rows).toBe(2);
    expect(await p.query("select id::varchar as id, title from data.exports order by id")).toEqual([
      { id: "1", title: "one" },
      { id: "2", title: "two, edited" },
      { id: "4", title: "four" },
      { id: "5", title: "five" },
      { id: "6", title: "six" },
      { id: "9007199254740993", title: "big" },
    ]);
    expect(await p.query("select last_value from data._rl_state")).toEqual([{ last_value: "2024-03-02T00:00:00Z" }]);
  });

  test("restload extract streams the module's records and its log lines go to stderr", async () => {
    const { server } = exportJobApi(firstRecords);
    const p = moduleProject(testHead(server.url) + exportJobResource, exportJobModule);
    const result = await runMain(["extract", p.pipeline]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe('{"resource":"exports","record":{"id":9007199254740993,"title":"big","updated_at":"2024-02-03T00:00:00Z"}}');
    expect(result.stderr).toContain("exports: export job job-1 started");
    expect(result.stderr).toContain("exports: 5 records in 2 pages");
  });
});

describe("module resources in the resource graph", () => {
  test("a module resource is the parent of an endpoint resource: placeholders and include_from_parent read its records", async () => {
    const server = serve((request) => {
      const match = /^\/records\/(\d+)\/notes$/.exec(request.url.pathname);
      return match ? json([{ id: Number(match[1]) * 10, text: `note of ${match[1]}` }]) : json({}, { status: 404 });
    });
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "jobs"
module = "./exports.ts"
export = "jobs"
[[resources]]
name = "notes"
endpoint.path = "records/{resources.jobs.id}/notes"
endpoint.paginator = "single_page"
include_from_parent = ["id"]
`,
      `export async function* jobs() { yield { id: 1, kind: "a" }; yield [{ id: 2, kind: "b" }, { id: 3, kind: "c" }]; }\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, kind from data.jobs order by id")).toEqual([
      { id: 1, kind: "a" },
      { id: 2, kind: "b" },
      { id: 3, kind: "c" },
    ]);
    expect(await p.query("select id, text, _jobs_id from data.notes order by id")).toEqual([
      { id: 10, text: "note of 1", _jobs_id: 1 },
      { id: 20, text: "note of 2", _jobs_id: 2 },
      { id: 30, text: "note of 3", _jobs_id: 3 },
    ]);
  });

  test("a child module resource gets each parent record as ctx.parent and keeps its cursor per parent", async () => {
    const activity: Record<string, { seq: number; what: string }[]> = {
      "1": [
        { seq: 1, what: "1a" },
        { seq: 2, what: "1b" },
      ],
      "2": [{ seq: 5, what: "2a" }],
    };
    const server = serve((request) => {
      if (request.url.pathname === "/users") return json([{ id: 1 }, { id: 2 }]);
      const match = /^\/users\/(\d+)\/activity$/.exec(request.url.pathname);
      const after = Number(request.url.searchParams.get("after"));
      return json((activity[match![1]!] ?? []).filter((item) => item.seq > after));
    });
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "users"
primary_key = "id"
endpoint.paginator = "single_page"
[[resources]]
name = "activity"
module = "./exports.ts"
export = "activity"
parent = "users"
include_from_parent = ["id"]
incremental = { cursor_path = "seq", initial_value = 0, range_start = "open" }
`,
      `export async function* activity(ctx) {
  const response = await ctx.fetch(\`users/\${ctx.parent.id}/activity?after=\${ctx.incremental.start_value}\`);
  yield await response.json();
}
`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select what, _users_id from data.activity order by what")).toEqual([
      { what: "1a", _users_id: 1 },
      { what: "1b", _users_id: 1 },
      { what: "2a", _users_id: 2 },
    ]);
    expect(await p.query("select parent_key, last_value from data._rl_state order by parent_key")).toEqual([
      { parent_key: '{"id":1}', last_value: "2" },
      { parent_key: '{"id":2}', last_value: "5" },
    ]);
    activity["1"]!.push({ seq: 3, what: "1c" });
    const before = server.requests.length;
    expect((await p.run()).code).toBe(0);
    const asked = server.requests.slice(before).map((request) => request.url.pathname + request.url.search);
    expect(asked).toEqual(["/users", "/users/1/activity?after=2", "/users/2/activity?after=5"]);
    expect(await p.query("select count(*) as n from data.activity")).toEqual([{ n: 4 }]);
  });

  test("with window, the module is called once per window with the window's bounds in ctx.incremental", async () => {
    const server = serve((request) => {
      const from = Number(request.url.searchParams.get("from"));
      const to = Number(request.url.searchParams.get("to"));
      return json(Array.from({ length: 30 }, (_, seq) => ({ seq })).filter((item) => item.seq >= from && item.seq < to));
    });
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "ranges"
module = "./exports.ts"
export = "ranges"
incremental = { cursor_path = "seq", initial_value = 0, end_value = 30, window = 10 }
`,
      `export async function* ranges(ctx) {
  const { start_value, end_value } = ctx.incremental;
  yield await (await ctx.fetch(\`items?from=\${start_value}&to=\${end_value}\`)).json();
}
`,
    );
    const planned = JSON.parse((await runMain(["check", p.pipeline, "--json"])).stdout);
    expect(planned.units[0].checkpoints).toEqual({ mode: "windows" });
    expect((await p.run()).code).toBe(0);
    expect(server.requests.map((request) => request.url.search)).toEqual(["?from=0&to=10", "?from=10&to=20", "?from=20&to=30"]);
    expect(await p.query("select count(*) as n from data.ranges")).toEqual([{ n: 30 }]);
    expect(await p.query("select last_value from data._rl_state")).toEqual([{ last_value: "30" }]);
  });

  test("an incremental module root whose records come in cursor order checkpoints at its yields", async () => {
    const p = moduleProject(
      `[pipeline]\nname = "test"\ndataset = "data"\ncheckpoint_interval = 0.01\n[[resources]]
name = "events"
module = "./exports.ts"
export = "events"
primary_key = "seq"
incremental = { cursor_path = "seq", initial_value = 0, row_order = "asc" }
`,
      `export async function* events(ctx) {
  for (let batch = 0; batch < 3; batch++) {
    yield [1, 2].map((k) => ({ seq: batch * 2 + k }));
    await ctx.sleep(50);
  }
}
`,
    );
    const check = await runMain(["check", p.pipeline]);
    expect(check.stdout).toContain("checkpoints: at page boundaries (ordered by seq)");
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).units[0].checkpoints).toBeGreaterThanOrEqual(3);
    expect(await p.query("select count(*) as n, max(seq) as top from data.events")).toEqual([{ n: 6, top: 6 }]);
  });
});

describe("check and probe", () => {
  test("check prints a module resource's function, and --probe runs it to its first yield and closes it", async () => {
    const server = serve(() => json({ ok: true }));
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "feed"
module = "./exports.ts"
export = "feed"
`,
      `export async function* feed(ctx) {
  try {
    await ctx.fetch("first");
    yield [{ id: 1, name: "a" }, { id: 2, name: "b" }];
    await ctx.fetch("second");
    yield { id: 3 };
  } finally {
    await ctx.fetch("closed");
  }
}
`,
    );
    const check = await runMain(["check", p.pipeline]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("  feed\n    module      ./exports.ts, export feed\n");
    const planned = JSON.parse((await runMain(["check", p.pipeline, "--json"])).stdout);
    expect(planned.resources[0]).toMatchObject({ name: "feed", module: { module: "./exports.ts", export: "feed" }, table: "feed" });
    expect(planned.resources[0].path).toBeUndefined();

    const probed = await runMain(["check", p.pipeline, "--probe"]);
    expect(probed.code).toBe(0);
    expect(probed.stdout).toContain(
      "  feed  module ./exports.ts (export feed)\n    records    2 in its first yield\n    fields     id, name\n",
    );
    expect(server.requests.map((request) => request.url.pathname)).toEqual(["/first", "/closed"]);
  });

  test("check fails on a module file that does not exist, naming its TOML path", async () => {
    const p = project(`${testHead("http://127.0.0.1:1/")}[[resources]]\nname = "feed"\nmodule = "./nope.ts"\nexport = "feed"\n`);
    const result = await runMain(["check", p.pipeline]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('resources[0].module: module "./nope.ts" does not exist');
  });
});

describe("the shipped export-job pipeline (configs/export-job.toml)", () => {
  test("loads the demo API's export job and the comments of its issues from the compiled binary", async () => {
    const api = startDemoApi({ issues: 12 });
    try {
      const binary = await compiledBinary();
      const database = join(tempDir(), "export.duckdb");
      const env = { PATH: "/usr/bin:/bin", RESTLOAD_CACHE_DIR: tempDir(), RESTLOAD_DEMO_URL: api.url };
      const result = await run([binary, "run", join(repoRoot, "configs", "export-job.toml"), "--database", database], { env });
      expect(result.stdout + result.stderr).toContain("issues                12");
      expect(result.code).toBe(0);
      const counts = await runMain([
        "sql",
        database,
        "select (select count(*) from widgets.issues) as issues, (select count(*) from widgets.issue_comments) as comments",
        "--json",
      ]);
      // Issue n has n % 3 comments.
      expect(JSON.parse(counts.stdout)).toEqual([{ issues: 12, comments: 12 }]);
      expect(api.exportRequests).toEqual([{ since: "2024-01-01T00:00:00Z" }]);
    } finally {
      await api.stop();
    }
  }, 300_000);

  test("runs on Deno too, and a second run asks the job only for what changed", async () => {
    const api = startDemoApi({ issues: 12 });
    try {
      const database = join(tempDir(), "export.duckdb");
      const deno = () =>
        run([denoBin, "task", "--quiet", "restload", "run", "configs/export-job.toml", "--database", database, "--json"], {
          env: { ...process.env, RESTLOAD_DEMO_URL: api.url },
        });
      const first = await deno();
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout).units[0].rows_by_table).toEqual({ issues: 12, issue_comments: 12 });
      api.touch([4], "2024-06-01T00:00:00Z");
      const second = await deno();
      expect(second.code).toBe(0);
      expect(api.exportRequests[1]).toEqual({ since: "2024-01-01T12:30:00Z" });
      expect(JSON.parse(second.stdout).units[0].rows_by_table).toEqual({ issues: 1, issue_comments: 1 });
    } finally {
      await api.stop();
    }
  }, 300_000);
});
