// A data_selector whose path is not in a response that holds records fails the unit, naming what
// the response holds; a response that is empty (a count of 0, `{}`, no records) is an empty page.
import { describe, expect, test } from "bun:test";
import { runMain } from "../helpers.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

/** `/issues` answers `body`; `/parents` two parents; `/parents/1/children` `{}`, `/parents/2/children` two records under "items". */
function api(body: unknown): TestServer {
  const server = startServer((request) => {
    switch (request.url.pathname) {
      case "/issues":
        return json(body);
      case "/parents":
        return json([{ id: 1 }, { id: 2 }]);
      case "/parents/1/children":
        return json({});
      default:
        return json({ items: [{ n: 1 }, { n: 2 }], count: 2 });
    }
  });
  servers.push(server);
  return server;
}

const issues = (selector: string) =>
  `[[resources]]\nname = "issues"\nendpoint.paginator = "single_page"\nendpoint.data_selector = "${selector}"\n`;

describe("a data_selector whose path is not in the response", () => {
  test("fails the run (exit 1, E_DATA) naming the selector, the resource, the URL and the keys the response has", async () => {
    const server = api({ items: [{ id: 1 }, { id: 2 }, { id: 3 }], total: 3 });
    const p = project(testHead(server.url) + issues("results"));
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `error[E_DATA]: Cannot select records of resource "issues" with data_selector "results": the response to page 1 (GET ${server.origin}/issues) has no such field; its top-level keys are items, total`,
    );
    expect(result.stdout).toContain('hint: Set data_selector = "items"');
    expect(await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = 'issues'")).toEqual([
      { n: 0 },
    ]);
  });

  test("check --probe reports the same failure and exits 1", async () => {
    const server = api({ items: [{ id: 1 }], total: 1 });
    const p = project(testHead(server.url) + issues("results"));
    const result = await runMain(["check", "--probe", p.pipeline]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'issues  FAILED  error[E_DATA]: Cannot select records of resource "issues" with data_selector "results"',
    );
    expect(result.stdout).toContain("its top-level keys are items, total");
  });

  test("a response that says it is empty (total 0) is an empty page: the run succeeds with 0 rows", async () => {
    const server = api({ items: [], total: 0, facets: [{ name: "state", values: [] }] });
    const p = project(testHead(server.url) + issues("results"));
    const result = await p.run();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("unit issues: committed, 0 rows");
  });

  test("a selector reaching null is an empty page, not an error", async () => {
    const server = api({ results: null, warnings: [{ message: "deprecated" }] });
    const p = project(testHead(server.url) + issues("results"));
    expect((await p.run()).code).toBe(0);
  });

  test("a child chain answering {} for one parent is an empty page; the other parent's records land", async () => {
    const server = api([]);
    const p = project(
      `${testHead(server.url)}paginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\nendpoint.data_selector = "items"\ninclude_from_parent = ["id"]\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(0);
    expect(await p.query("select _parents_id as parent, n from data.children order by n")).toEqual([
      { parent: 2, n: 1 },
      { parent: 2, n: 2 },
    ]);
  });

  test("a child resource with a wrong selector fails its unit naming the child", async () => {
    const server = api([]);
    const p = project(
      `${testHead(server.url)}paginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\nendpoint.data_selector = "data"\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `Cannot select records of resource "children" with data_selector "data": the response to page 1 (GET ${server.origin}/parents/2/children) has no such field; its top-level keys are items, count`,
    );
  });

  test("an API leaving the data key out when nothing is new, with links and warnings, gives an empty page: exit 0, 0 rows", async () => {
    const server = api({
      links: [{ rel: "self", href: "/issues?since=2024-05-01T00:00:00Z" }],
      warnings: [{ message: "since is deprecated" }],
    });
    const p = project(testHead(server.url) + issues("data"));
    const result = await p.run();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("unit issues: committed, 0 rows");
  });

  test("a wildcard selecting nothing below a path that is there (JSON:API data: [] beside included) is an empty page", async () => {
    const server = api({ data: [], included: [{ type: "people", id: "9", attributes: { name: "Ann" } }] });
    const p = project(testHead(server.url) + issues("data[*].attributes"));
    const result = await p.run();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("unit issues: committed, 0 rows");
  });

  test("once the path was in a child response of the run, a later parent's child response without it is an empty page", async () => {
    // One child chain at a time, in parent order. Post 2 has no comments: it is answered without
    // the key, with related posts under "items".
    const server = startServer((request) => {
      switch (request.url.pathname) {
        case "/posts":
          return json([{ id: 1 }, { id: 2 }]);
        case "/posts/1/comments":
          return json({ comments: [{ n: 1 }, { n: 2 }] });
        default:
          return json({ items: [{ id: 7, title: "Related post" }] });
      }
    });
    servers.push(server);
    const head = `[pipeline]\nname = "test"\ndataset = "data"\nmax_concurrency = 1\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n`;
    const p = project(
      `${head}[[resources]]\nname = "posts"\n[[resources]]\nname = "comments"\nendpoint.path = "posts/{resources.posts.id}/comments"\nendpoint.data_selector = "comments"\ninclude_from_parent = ["id"]\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(0);
    expect(await p.query("select _posts_id as post, n from data.comments order by n")).toEqual([
      { post: 1, n: 1 },
      { post: 1, n: 2 },
    ]);
    expect(server.requests.map((request) => request.url.pathname)).toEqual(["/posts", "/posts/1/comments", "/posts/2/comments"]);
  });
});
