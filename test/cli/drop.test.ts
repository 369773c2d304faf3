// `restload drop`: a resource's tables (child tables included) and cursors go together, with its
// dependent resources, so the next run reloads it whole; nothing else is touched.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { runLockPath } from "../../src/run/run-lock.ts";
import { bunBin, compiledBinary, type Ran, repoRoot, run } from "../helpers.ts";
import { project, testHead, type Project } from "../run/_helpers.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";

const servers = serversStoppedAfterAll();

const day = (n: number) => `2024-02-${String(n).padStart(2, "0")}T00:00:00Z`;
const labels = [["a", "b"], ["c"], ["d", "e"], ["f"], ["g"]];

/**
 * Five issues (7 labels) since `since`, two comments per issue since `since`, two users (3 roles)
 * and three archived records since `since`: every API honours its `since` parameter.
 */
function api(): TestServer {
  const since = (request: { url: URL }) => request.url.searchParams.get("since") ?? "";
  const server = startServer((request) => {
    const path = request.url.pathname;
    const comments = /^\/issues\/(\d+)\/comments$/.exec(path);
    if (comments) {
      const number = Number(comments[1]);
      const rows = [1, 2].map((k) => ({ id: number * 10 + k, body: `c${k}`, created_at: day(number + k) }));
      return json(rows.filter((row) => row.created_at >= since(request)));
    }
    if (path === "/issues") {
      const rows = labels.map((names, index) => ({ id: 100 + index, number: index + 1, updated_at: day(index + 1), labels: names }));
      return json(rows.filter((row) => row.updated_at >= since(request)));
    }
    if (path === "/users")
      return json([
        { id: 1, roles: ["admin", "dev"] },
        { id: 2, roles: ["dev"] },
      ]);
    if (path === "/archive") return json([1, 2, 3].map((id) => ({ id, at: day(id) })).filter((row) => row.at >= since(request)));
    return new Response("not found", { status: 404 });
  });
  servers.push(server);
  return server;
}

/** issues (incremental) → comments (incremental per issue); users (replace); archive, whose table is named like a child table of issues. */
const pipeline = (url: string) => `${testHead(url)}
[resource_defaults]
endpoint.paginator = "single_page"
[[resources]]
name = "issues"
write_disposition = "append"
endpoint.path = "issues"
endpoint.incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z", start_param = "since" }
[[resources]]
name = "comments"
write_disposition = "append"
endpoint.path = "issues/{resources.issues.number}/comments"
endpoint.incremental = { cursor_path = "created_at", initial_value = "2024-01-01T00:00:00Z", start_param = "since" }
[[resources]]
name = "users"
write_disposition = "replace"
endpoint.path = "users"
[[resources]]
name = "archive"
table_name = "issues__archive"
write_disposition = "append"
endpoint.path = "archive"
endpoint.incremental = { cursor_path = "at", initial_value = "2020-01-01T00:00:00Z", start_param = "since" }
`;

/** The CLI entry with standard input a terminal (answering `answer`, or each answer of `answers` in turn) or not. */
async function cli(
  args: readonly string[],
  stdin: { terminal: boolean; answer?: string; answers?: (() => Promise<string>)[] } = { terminal: false },
): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const answers = [...(stdin.answers ?? [])];
  const code = await main(args, {
    stdout: async (text) => void (stdout += text),
    stderr: async (text) => void (stderr += text),
    readStdin: async () => "",
    readLine: async () => (await answers.shift()?.()) ?? stdin.answer ?? "",
    stdinIsTerminal: stdin.terminal,
    env: {},
  });
  return { code, stdout, stderr };
}

/** Row counts of the dataset's tables and its cursors, for comparing before and after. */
async function contents(p: Project) {
  const tables = await p.query(
    "select table_name as t from duckdb_tables() where schema_name = 'data' and not starts_with(table_name, '_rl_') order by 1",
  );
  const counts: Record<string, number> = {};
  for (const { t } of tables) counts[String(t)] = Number((await p.query(`select count(*) as n from data."${t}"`))[0]!.n);
  const cursors = await p.query("select resource, parent_key, last_value from data._rl_state order by resource, parent_key");
  return { counts, cursors };
}

async function loaded(): Promise<{ p: Project; server: TestServer }> {
  const server = api();
  const p = project(pipeline(server.url));
  const first = await p.run();
  expect(first.code).toBe(0);
  return { p, server };
}

const firstLoad = {
  comments: 10,
  issues: 5,
  issues__archive: 3,
  issues__labels: 7,
  users: 2,
  users__roles: 3,
};

describe("restload drop", () => {
  test("drop then run reloads an incremental resource whole, with its child tables and its dependent resource; other resources stay", async () => {
    const { p, server } = await loaded();
    // Without a drop, the cursors hold: a second run loads nothing new.
    expect((await p.run()).code).toBe(0);
    const before = await contents(p);
    expect(before.counts).toEqual(firstLoad);
    expect(before.cursors.filter((cursor) => cursor.resource === "comments")).toHaveLength(5);
    const archiveCursor = before.cursors.filter((cursor) => cursor.resource === "archive");
    expect(archiveCursor).toEqual([{ resource: "archive", parent_key: "", last_value: day(3) }]);

    const dropped = await cli(["drop", p.pipeline, "issues", "--yes"]);
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toBe(
      [
        "dropped issues: table issues (5 rows), table issues__labels (7 rows), 1 cursor",
        'dropped comments (depends on "issues"): table comments (10 rows), 5 cursors',
        "",
      ].join("\n"),
    );
    const after = await contents(p);
    expect(after.counts).toEqual({ issues__archive: 3, users: 2, users__roles: 3 });
    expect(after.cursors).toEqual(archiveCursor);

    server.requests.length = 0;
    expect((await p.run()).code).toBe(0);
    const requested = server.requests.map((request) => `${request.url.pathname}?${request.url.searchParams}`);
    // Cursors gone: issues and every issue's comments from initial_value; archive from its own cursor.
    expect(requested).toContain("/issues?since=2024-01-01T00%3A00%3A00Z");
    expect(requested.filter((url) => url.endsWith("/comments?since=2024-01-01T00%3A00%3A00Z"))).toHaveLength(5);
    expect(requested).toContain(`/archive?since=${encodeURIComponent(day(3))}`);
    // Loaded once more, whole: not zero rows (the cursor), not twice (the old table).
    expect((await contents(p)).counts).toEqual(firstLoad);
  });

  test("an unknown resource exits 78 with the closest name, and nothing changes", async () => {
    const { p } = await loaded();
    const before = await contents(p);
    const result = await cli(["drop", p.pipeline, "isues", "--yes"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('error[E_CONFIG]: Cannot drop "isues"');
    expect(result.stderr).toContain('(did you mean "issues"?)');
    expect(await contents(p)).toEqual(before);
  });

  test("a resource below an incremental parent cannot go alone (78): the parent's next run would request it only for new records", async () => {
    const { p } = await loaded();
    const before = await contents(p);
    const result = await cli(["drop", p.pipeline, "comments", "--yes"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('Cannot drop "comments": it cannot go without "issues"');
    expect(await contents(p)).toEqual(before);
  });

  test("off a terminal without --yes it lists what it would drop, refuses (64) and leaves the database unchanged", async () => {
    const { p } = await loaded();
    const before = await contents(p);
    const bytes = readFileSync(p.database);
    const result = await cli(["drop", p.pipeline, "users"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("users: table users (2 rows), table users__roles (3 rows)");
    expect(result.stderr).toContain("without --yes when there is no terminal to ask");
    expect(result.stderr).toContain(`restload drop ${p.pipeline} users --yes`);
    expect(await contents(p)).toEqual(before);
    expect(readFileSync(p.database).equals(bytes)).toBe(true);
  });

  test("on a terminal it asks: anything but y leaves the database unchanged (exit 1), y drops", async () => {
    const { p } = await loaded();
    const before = await contents(p);
    const declined = await cli(["drop", p.pipeline, "users"], { terminal: true, answer: "" });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain("users: table users (2 rows), table users__roles (3 rows)");
    expect(declined.stderr).toContain("[y/N]");
    expect(declined.stderr).toContain("left unchanged");
    expect(await contents(p)).toEqual(before);

    const accepted = await cli(["drop", p.pipeline, "users"], { terminal: true, answer: "y" });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toBe("dropped users: table users (2 rows), table users__roles (3 rows)\n");
    expect(Object.keys((await contents(p)).counts)).toEqual(["comments", "issues", "issues__archive", "issues__labels"]);
  });

  test("a resource sharing its table goes with it; --json says what was dropped", async () => {
    const server = startServer((request) => {
      const detail = /^\/items\/(\d+)$/.exec(request.url.pathname);
      if (detail) return json({ id: Number(detail[1]), tags: [`t${detail[1]}`] });
      return json([{ id: 1 }, { id: 2 }]);
    });
    servers.push(server);
    const p = project(
      `${testHead(server.url)}[resource_defaults]\nendpoint.paginator = "single_page"\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n[[resources]]\nname = "details"\ntable_name = "items"\nendpoint.path = "items/{resources.items.id}"\nendpoint.data_selector = "$"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const result = await cli(["drop", p.pipeline, "details", "--yes", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      database: p.database,
      dataset: "data",
      dropped: true,
      resources: [
        {
          resource: "items",
          reason: 'shares table "items" with "details"',
          tables: [
            { table: "items", rows: 4 },
            { table: "items__tags", rows: 2 },
          ],
          kept: [],
          cursors: 0,
        },
        { resource: "details", reason: null, tables: [], kept: [], cursors: 0 },
      ],
    });
    expect(Object.keys((await contents(p)).counts)).toEqual([]);
    const again = await cli(["drop", p.pipeline, "details", "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('nothing to drop: dataset "data" holds no tables or cursors of "items", "details"\n');
  });

  test("in a dataset shared by two pipelines it leaves the other pipeline's tables named like its own, and tables no run loaded", async () => {
    const server = api();
    const blog = project(
      `[pipeline]\nname = "blog"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "users"\nendpoint = { path = "users", paginator = "single_page" }\n`,
      "blog",
    );
    const archive = project(
      `[pipeline]\nname = "archive"\ndataset = "data"\ndatabase = "${blog.database}"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "archive"\ntable_name = "users__archive"\nendpoint = { path = "archive", paginator = "single_page" }\n`,
    );
    expect((await blog.run()).code).toBe(0);
    expect((await archive.run()).code).toBe(0);
    expect((await cli(["sql", blog.pipeline, "create table users__notes as select 1 as x"])).code).toBe(0);
    const counts = { users: 2, users__archive: 3, users__notes: 1, users__roles: 3 };
    expect((await contents(blog)).counts).toEqual(counts);

    const listed = await cli(["drop", blog.pipeline, "users"]);
    expect(listed.code).toBe(64);
    expect(listed.stderr).toContain(
      'users: table users (2 rows), table users__roles (3 rows); leaves table users__archive (only pipeline "archive" loaded it), table users__notes (no run of pipeline "blog" loaded it)\n',
    );
    const dropped = await cli(["drop", blog.pipeline, "users", "--yes"]);
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toBe(
      'dropped users: table users (2 rows), table users__roles (3 rows); left table users__archive (only pipeline "archive" loaded it), table users__notes (no run of pipeline "blog" loaded it)\n',
    );
    expect((await contents(blog)).counts).toEqual({ users__archive: 3, users__notes: 1 });
    // The other pipeline's drop finds its own table.
    const theirs = await cli(["drop", archive.pipeline, "archive", "--yes"]);
    expect(theirs.stdout).toBe("dropped archive: table users__archive (3 rows)\n");
    expect((await contents(blog)).counts).toEqual({ users__notes: 1 });
  });

  test("child tables of a table named with 54 characters or more, shortened without the <table>__ prefix, go with it; another pipeline's do not", async () => {
    const long = "x".repeat(54);
    const server = startServer((request) =>
      json([1, 2].map((id) => ({ id, tags: [`${request.url.pathname}-${id}`], nested: { list: [id, id] } }))),
    );
    servers.push(server);
    const head = (name: string, database = "") =>
      `[pipeline]\nname = "${name}"\ndataset = "data"\n${database}[client]\nbase_url = "${server.url}"\n[resource_defaults]\nendpoint.paginator = "single_page"\n`;
    const ours = project(`${head("ours")}[[resources]]\nname = "alpha"\ntable_name = "${long}_alpha"\nendpoint.path = "alpha"\n`, "ours");
    const theirs = project(
      `${head("theirs", `database = "${ours.database}"\n`)}[[resources]]\nname = "bravo"\ntable_name = "${long}_bravo"\nendpoint.path = "bravo"\n`,
    );
    expect((await ours.run()).code).toBe(0);
    expect((await theirs.run()).code).toBe(0);
    const before = (await contents(ours)).counts;
    const shortened = Object.keys(before).filter((table) => /^x{54}_[0-9a-f]{8}$/.test(table));
    // Two child tables each (tags, nested__list), all four shortened to the same 54 characters.
    expect(shortened).toHaveLength(4);
    const listed = await cli([
      "sql",
      ours.pipeline,
      `select key from _rl_loads, json_each(rows_by_table) where unit = 'bravo' and key <> '${long}_bravo' order by key`,
      "--csv",
    ]);
    const theirChildren = listed.stdout.trim().split("\n").slice(1);
    expect(theirChildren).toHaveLength(2);

    const dropped = await cli(["drop", ours.pipeline, "alpha", "--yes", "--json"]);
    expect(dropped.code).toBe(0);
    const [item] = JSON.parse(dropped.stdout).resources;
    expect(item.tables.map((table: { table: string }) => table.table).sort()).toEqual(
      [`${long}_alpha`, ...shortened.filter((table) => !theirChildren.includes(table))].sort(),
    );
    expect(item.kept).toEqual(theirChildren.map((table) => ({ table, reason: 'only pipeline "theirs" loaded it' })));
    expect(Object.keys((await contents(ours)).counts).sort()).toEqual([`${long}_bravo`, ...theirChildren].sort());
  });

  test("on a terminal it drops exactly the list agreed to: when a run changes it before the drop, nothing goes and the new list is asked about", async () => {
    const state = { tags: false };
    const server = startServer(() => json([1, 2].map((id) => ({ id, roles: ["dev"], ...(state.tags ? { tags: ["new"] } : {}) }))));
    servers.push(server);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "users"\nwrite_disposition = "replace"\nendpoint = { path = "users", paginator = "single_page" }\n`,
    );
    expect((await p.run()).code).toBe(0);
    // Between the answer and the drop, a run adds the child table users__tags.
    const runThenAnswer = (answer: string) => async () => {
      state.tags = true;
      expect((await p.run()).code).toBe(0);
      return answer;
    };
    const declined = await cli(["drop", p.pipeline, "users"], { terminal: true, answers: [runThenAnswer("y"), async () => "n"] });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain("users: table users (2 rows), table users__roles (2 rows)\n");
    expect(declined.stderr).toContain(
      'The dataset changed since that list; nothing was dropped. This now drops from dataset "data":\n  users: table users (2 rows), table users__roles (2 rows), table users__tags (2 rows)\n',
    );
    expect(declined.stdout).toBe("");
    expect((await contents(p)).counts).toEqual({ users: 2, users__roles: 2, users__tags: 2 });

    const accepted = await cli(["drop", p.pipeline, "users"], { terminal: true, answer: "y" });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toBe("dropped users: table users (2 rows), table users__roles (2 rows), table users__tags (2 rows)\n");
    expect((await contents(p)).counts).toEqual({});
  });

  test("it waits for a run of the pipeline to end, then exits 75 naming it, and drops nothing", async () => {
    const { p } = await loaded();
    const before = await contents(p);
    const holderScript = join(repoRoot, "test", "fixtures", "hold-database.ts");
    const holder = Bun.spawn([bunBin, holderScript, runLockPath(p.database, "data", "test"), "20000"], {
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
      reader.releaseLock();
      const result = await cli(["drop", p.pipeline, "users", "--yes", "--lock-timeout", "1"]);
      expect(result.code).toBe(75);
      expect(result.stderr).toContain(`Cannot drop resources of pipeline "test" as process ${holder.pid} (bun ${holderScript}`);
      expect(result.stderr).toContain("waited 1 s");
    } finally {
      holder.kill();
      await holder.exited;
    }
    expect(await contents(p)).toEqual(before);
  });

  test("the compiled binary drops a resource and sql reads the pipeline's dataset", async () => {
    const { p } = await loaded();
    const binary = await compiledBinary();
    const dropped = await run([binary, "drop", p.pipeline, "users", "--yes"]);
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toBe("dropped users: table users (2 rows), table users__roles (3 rows)\n");
    const left = await run([
      binary,
      "sql",
      p.pipeline,
      "select (select count(*) from issues) as issues, (select count(*) from duckdb_tables() where schema_name = current_schema() and table_name like 'users%') as users",
      "--csv",
    ]);
    expect(left.code).toBe(0);
    expect(left.stdout).toBe("issues,users\n5,0\n");
    const refused = await run([binary, "drop", p.pipeline, "issues"]);
    expect(refused.code).toBe(64);
  });
});
