// Runs as a whole: failed units roll back alone, run and load records, the recorded GitHub
// responses, `tables`, `--json`, the demo, and the compiled binary.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { compiledBinary, repoRoot, run, runMain, tempDir } from "../helpers.ts";
import { serveRecorded } from "../servers/github-recorded.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

describe("restload run", () => {
  test("a failing unit leaves none of its rows, records a failed load; other units commit; exit 1", async () => {
    let pages = 0;
    const server = startServer((request) => {
      if (request.url.pathname === "/good") return json([{ id: 1 }, { id: 2 }]);
      pages++;
      // The bad resource's first page works, its second fails for good.
      return pages === 1
        ? json([{ id: 10, tags: ["a"] }], { headers: { link: `<${request.url.origin}/bad?page=2>; rel="next"` } })
        : json({ message: "gone" }, { status: 410 });
    });
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "good"\n[[resources]]\nname = "bad"\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("unit good: committed, 2 rows");
    expect(result.stdout).toContain("unit bad: failed");
    expect(result.stdout).toContain('Cannot fetch page 2 of resource "bad" as the server returned 410');
    expect(await p.query("select count(*) as n from data.good")).toEqual([{ n: 2 }]);
    expect(await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name like 'bad%'")).toEqual([
      { n: 0 },
    ]);
    const loads = await p.query("select unit, status, rows_by_table::varchar as rows, error from data._rl_loads order by unit");
    expect(loads).toMatchObject([
      { unit: "bad", status: "failed", rows: "{}", error: expect.stringContaining("E_HTTP: Cannot fetch page 2") },
      { unit: "good", status: "committed", rows: '{"good":2}', error: null },
    ]);
    expect(await p.query("select status, exit_code, rows, requests from data._rl_runs")).toEqual([
      { status: "failed", exit_code: 1, rows: 2, requests: 3 },
    ]);
  });

  test("the recorded GitHub responses load with their real shapes: 13 issues over 5 Link pages", async () => {
    const github = serveRecorded("paginate-issues");
    servers.push(github);
    const p = project(
      `[pipeline]\nname = "github"\ndataset = "github"\n[client]\nbase_url = "${github.origin}/repos/octokit-fixture-org/paginate-issues/"\nauth = { token = { secret = "github_token" } }\n[[resources]]\nname = "issues"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.params.per_page = 3\n`,
      "github",
    );
    const result = await p.run(["--json"], { RESTLOAD_SECRET_GITHUB_TOKEN: "ghp_x" });
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      status: "succeeded",
      exit_code: 0,
      rows: 13,
      requests: 5,
      retries: 0,
      units: [{ unit: "issues", status: "committed", rows_by_table: { issues: 13 } }],
    });
    expect(await p.query("select count(*) as n, min(number) as lo, max(number) as hi from github.github.issues")).toEqual([
      { n: 13, lo: 1, hi: 13 },
    ]);
    expect(await p.query("select user__login as login, typeof(created_at) as t from github.github.issues where number = 13")).toEqual([
      { login: "octokit-fixture-user-a", t: "TIMESTAMP WITH TIME ZONE" },
    ]);
  });

  test("tables lists tables, row counts and the last load; it never creates a database", async () => {
    const server = startServer(() => json([{ id: 1, tags: ["a", "b"] }]));
    servers.push(server);
    const p = project(`[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n`);
    const missing = await runMain(["tables", p.pipeline]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("does not exist");
    await p.run();
    const listed = await runMain(["tables", p.pipeline, "--json"]);
    expect(listed.code).toBe(0);
    const tables = JSON.parse(listed.stdout);
    expect(tables.map((t: { table: string; rows: number }) => [t.table, t.rows])).toEqual([
      ["items", 1],
      ["items__tags", 2],
    ]);
    expect(tables[0].last_load_id).toMatch(/^\d+\.\d{6}$/);
  });

  test("--select runs only the named units; an unknown name exits 78", async () => {
    const server = startServer((request) => json([{ id: request.url.pathname }]));
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\nresources = ["a", "b"]\n`.replace(
        'resources = ["a", "b"]\n',
        "",
      ) + '\n[[resources]]\nname = "a"\n[[resources]]\nname = "b"\n',
    );
    expect((await p.run(["--select", "b"])).code).toBe(0);
    expect(await p.query("select table_name from duckdb_tables() where schema_name = 'data' and table_name not like '_rl_%'")).toEqual([
      { table_name: "b" },
    ]);
    expect((await p.run(["--select", "c"])).code).toBe(78);
  });

  test("--dry-run extracts and normalises, prints what would load, and never creates the database", async () => {
    const server = startServer(() =>
      json([
        { id: 1, tags: ["a", "b"] },
        { id: 2, tags: [] },
      ]),
    );
    servers.push(server);
    const p = project(`[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n`);
    const result = await p.run(["--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("dry run of pipeline test: succeeded; nothing was written to");
    expect(result.stdout).toContain("unit items: would load, 4 rows");
    expect(result.stdout).toMatch(/items__tags\s+2/);
    expect(existsSync(p.database)).toBe(false);
  });

  test("--log-format json writes one JSON object per event line", async () => {
    const server = startServer(() => json([{ id: 1 }]));
    servers.push(server);
    const p = project(`[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n`);
    const result = await p.run(["--log-format", "json"]);
    expect(result.code).toBe(0);
    const events = result.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    // Pages only at --log-level debug; the first run creates the table.
    expect(events.map((event) => event.event)).toEqual(["run_started", "unit_started", "schema_changed", "unit_committed", "run_finished"]);
    expect(events.every((event) => typeof event.time === "string")).toBe(true);
    expect((await p.run(["--log-format", "xml"])).code).toBe(64);
  });

  test("an error that ends the whole run (configuration, a missing secret) follows --log-format json, --json and journald", async () => {
    const p = project(
      `[pipeline]\nname = "test"\n[client]\nbase_url = "http://127.0.0.1:1/"\nauth = { type = "bearer", token = { secret = "absent" } }\n[[resources]]\nname = "items"\n`,
    );
    const json = await p.run(["--log-format", "json", "--json"]);
    expect(json.code).toBe(78);
    const lines = json.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({ event: "run_failed", code: "E_SECRET", time: expect.any(String) }),
      expect.objectContaining({ event: "run_finished", status: "failed", exit_code: 78 }),
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: "E_SECRET" } });
    const journal = await p.run(["--select", "nope"], { JOURNAL_STREAM: "8:12345" });
    expect(journal.code).toBe(78);
    const journalLines = journal.stderr.trim().split("\n");
    expect(journalLines.length).toBeGreaterThan(1);
    expect(journalLines.every((line) => line.startsWith("<3>"))).toBe(true);
  });

  test("under journald (JOURNAL_STREAM set) every line carries a severity prefix and no escape codes", async () => {
    let calls = 0;
    const server = startServer(() => (calls++ === 0 ? json({}, { status: 503 }) : json([{ id: 1 }])));
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\nbackoff_factor = 0\n[[resources]]\nname = "items"\n`,
    );
    const result = await p.run([], { JOURNAL_STREAM: "8:12345" });
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split("\n");
    expect(lines.every((line) => /^<[346]>/.test(line))).toBe(true);
    expect(lines.some((line) => line.startsWith("<4>retry of items"))).toBe(true);
    expect(result.stderr).not.toContain("\x1b");
  });

  test("npm run demo loads the demo API and prints a summary and a sample query; run twice, the second fetches only what changed", async () => {
    const database = join(tempDir(), "demo.duckdb");
    const demo = () => run([join(repoRoot, "node_modules", ".bin", "bun"), join(repoRoot, "scripts", "demo.ts"), database]);
    const first = await demo();
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("of pipeline demo: succeeded");
    expect(first.stdout).toMatch(/issues\s+250/);
    expect(first.stdout).toMatch(/issues__labels\s+250/);
    expect(first.stdout).toContain("open_issues");
    const second = await demo();
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("unit issues: committed, 0 rows (1 request, 0 retries");
    expect(existsSync(`${database}.stage`)).toBe(false);
  });

  test("works from the compiled binary", async () => {
    const server = startServer(() => json([{ id: 9223372036854775807n, user: { login: "ann" }, tags: ["x"] }]));
    servers.push(server);
    const p = project(`[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n`);
    const binary = await compiledBinary();
    const result = await run([binary, "run", p.pipeline], { env: { PATH: "/usr/bin:/bin", RESTLOAD_CACHE_DIR: tempDir() } });
    expect(result.code).toBe(0);
    expect(await p.query("select id::varchar as id, user__login from data.items")).toEqual([
      { id: "9223372036854775807", user__login: "ann" },
    ]);
  }, 300_000);
});
