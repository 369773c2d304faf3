// processing_steps: every form against a local server, module hooks from source and from the
// compiled binary, and the errors a bad step gives.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compiledBinary, run, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const records = [
  {
    id: 1,
    state: "open",
    comments: 0,
    labels: ["bug"],
    title: "Crash on start",
    user: { login: "ann" },
    body: "long text",
    created_at: "2024-01-01T10:00:00Z",
  },
  { id: 2, state: "closed", comments: 5, title: "Docs typo", user: { login: "bob" }, body: "x", created_at: "2024-01-02T10:00:00+02:00" },
  { id: 3, state: "open", comments: 2, title: "crash when idle", user: { login: "cy" }, body: "y", created_at: "2024-01-03T10:00:00Z" },
  { id: 4, state: "open", comments: 0, title: "Feature", user: { login: "dee" }, body: "z", created_at: "2024-01-04T00:00:00Z" },
];

let server: TestServer;
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

function withSteps(steps: string) {
  server ??= startServer(() => json(records));
  if (!servers.includes(server)) servers.push(server);
  return project(
    `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\nprocessing_steps = ${steps}\n`,
  );
}

async function ids(p: ReturnType<typeof project>): Promise<number[]> {
  return (await p.query("select id from data.items order by id")).map((row) => Number(row.id));
}

describe("declarative steps", () => {
  const cases: [string, string, number[]][] = [
    ["eq", '[{ filter = { field = "state", op = "eq", value = "open" } }]', [1, 3, 4]],
    ["ne", '[{ filter = { field = "state", op = "ne", value = "open" } }]', [2]],
    ["gt on numbers", '[{ filter = { field = "comments", op = "gt", value = 1 } }]', [2, 3]],
    [
      "le on RFC 3339 instants, offsets included",
      '[{ filter = { field = "created_at", op = "le", value = "2024-01-02T08:00:00Z" } }]',
      [1, 2],
    ],
    ["in", '[{ filter = { field = "user.login", op = "in", value = ["ann", "dee"] } }]', [1, 4]],
    ["not_in", '[{ filter = { field = "id", op = "not_in", value = [1, 2] } }]', [3, 4]],
    ["exists", '[{ filter = { field = "labels", op = "exists" } }]', [1]],
    ["missing", '[{ filter = { field = "labels", op = "missing" } }]', [2, 3, 4]],
    ["matches", '[{ filter = { field = "title", op = "matches", value = "^[Cc]rash" } }]', [1, 3]],
    ["any", '[{ filter = { any = [ { field = "labels", op = "exists" }, { field = "comments", op = "gt", value = 0 } ] } }]', [1, 2, 3]],
    [
      "all",
      '[{ filter = { all = [ { field = "state", op = "eq", value = "open" }, { field = "comments", op = "eq", value = 0 } ] } }]',
      [1, 4],
    ],
    ["not", '[{ filter = { not = { field = "state", op = "eq", value = "open" } } }]', [2]],
    [
      "steps in order",
      '[{ filter = { field = "state", op = "eq", value = "open" } }, { filter = { field = "comments", op = "eq", value = 0 } }]',
      [1, 4],
    ],
  ];
  for (const [name, steps, expected] of cases) {
    test(`filter: ${name}`, async () => {
      const p = withSteps(steps);
      const result = await p.run();
      expect(result.stdout + result.stderr).not.toContain("error");
      expect(await ids(p)).toEqual(expected);
    });
  }

  test("map: drop, rename (nested to top level) and set", async () => {
    const p = withSteps(
      '[{ map = { drop = ["body", "labels"], rename = { "user.login" = "author" }, set = { source = "github", "meta.version" = 2 } } }]',
    );
    expect((await p.run()).code).toBe(0);
    const columns = (
      await p.query("select column_name from duckdb_columns() where schema_name = 'data' and table_name = 'items' order by column_index")
    ).map((r) => r.column_name);
    expect(columns).not.toContain("body");
    expect(columns).not.toContain("user__login");
    expect(await p.query("select id, author, source, meta__version from data.items where id = 1")).toEqual([
      { id: 1, author: "ann", source: "github", meta__version: 2 },
    ]);
    expect(await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = 'items__labels'")).toEqual([
      { n: 0 },
    ]);
  });
});

describe("module hooks", () => {
  const moduleText = `export function keepOpen(record) { return record.state === "open"; }
export const redact = (record) => ({ ...record, body: "[redacted]", title: record.title.toUpperCase() });
export function explode(record) { if (record.id === 3) throw new Error("cannot handle issue 3"); return record; }
`;

  test("filter and map hooks from a TypeScript file beside the pipeline (source)", async () => {
    const p = withSteps(
      '[{ filter = { module = "./steps.ts", export = "keepOpen" } }, { map = { module = "./steps.ts", export = "redact" } }]',
    );
    writeFileSync(join(p.dir, "steps.ts"), moduleText);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, title, body from data.items order by id")).toEqual([
      { id: 1, title: "CRASH ON START", body: "[redacted]" },
      { id: 3, title: "CRASH WHEN IDLE", body: "[redacted]" },
      { id: 4, title: "FEATURE", body: "[redacted]" },
    ]);
  });

  test("the same hooks work from the compiled binary", async () => {
    const p = withSteps(
      '[{ filter = { module = "./steps.ts", export = "keepOpen" } }, { map = { module = "./steps.ts", export = "redact" } }]',
    );
    writeFileSync(join(p.dir, "steps.ts"), moduleText);
    const binary = await compiledBinary();
    const result = await run([binary, "run", p.pipeline], { env: { PATH: "/usr/bin:/bin", RESTLOAD_CACHE_DIR: tempDir() } });
    expect(result.code).toBe(0);
    expect(await p.query("select title from data.items order by id")).toEqual([
      { title: "CRASH ON START" },
      { title: "CRASH WHEN IDLE" },
      { title: "FEATURE" },
    ]);
  }, 300_000);

  test("check reports a module file that does not exist, with its TOML path", async () => {
    const p = withSteps('[{ filter = { field = "id", op = "gt", value = 0 } }, { map = { module = "./nope.ts", export = "x" } }]');
    const { runMain } = await import("../helpers.ts");
    const result = await runMain(["check", p.pipeline]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('resources[0].processing_steps[1].map: module "./nope.ts" does not exist');
  });

  test("a module that does not exist fails the unit naming the resource and the step", async () => {
    const p = withSteps('[{ filter = { field = "id", op = "gt", value = 0 } }, { map = { module = "./nope.ts", export = "x" } }]');
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Cannot load module "./nope.ts" of step 2 of resource "items"');
  });

  test("a module without the export names what it does export", async () => {
    const p = withSteps('[{ map = { module = "./steps.ts", export = "missing" } }]');
    writeFileSync(join(p.dir, "steps.ts"), moduleText);
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'Cannot use "missing" of module "./steps.ts" in step 1 of resource "items" as the module exports no such function (it exports: explode, keepOpen, redact)',
    );
  });

  test("a step that throws fails its unit naming the resource, the step and the record's position", async () => {
    const p = withSteps('[{ map = { module = "./steps.ts", export = "explode" } }]');
    writeFileSync(join(p.dir, "steps.ts"), moduleText);
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Step 1 of resource "items" failed on record 3 of the page: cannot handle issue 3');
    expect(await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = 'items'")).toEqual([
      { n: 0 },
    ]);
  });
});
