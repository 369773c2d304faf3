// Parent/child resources and the scheduler: every child once, concurrency within its bounds,
// rate limits shared by all chains, failures confined to their unit.
import { afterAll, describe, expect, test } from "bun:test";
import { startDemoApi } from "../../scripts/demo-api.ts";
import { json, startServer } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const stops: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const server of stops) await server.stop();
});

describe("parents and children", () => {
  test("the seed's GitHub pipeline loads every comment once with _issues_id, and requests nothing else", async () => {
    const api = startDemoApi({ issues: 60 });
    stops.push(api);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[resource_defaults]\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.params.per_page = 100\n[[resources]]\nname = "issues"\nendpoint.path = "issues"\nendpoint.params.state = "all"\n[[resources]]\nname = "issue_comments"\nendpoint.path = "issues/{issue_number}/comments"\nendpoint.params.issue_number = { type = "resolve", resource = "issues", field = "number" }\ninclude_from_parent = ["id"]\n`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    const expected = Array.from({ length: 60 }, (_, i) => (i + 1) % 3).reduce((a, b) => a + b, 0);
    expect(await p.query("select count(*) as n, count(distinct id) as ids from data.issue_comments")).toEqual([
      { n: expected, ids: expected },
    ]);
    expect(
      await p.query(
        "select count(*) as n from data.issue_comments c join data.issues i on c._issues_id = i.id where c.body like 'Comment % on issue ' || i.number",
      ),
    ).toEqual([{ n: expected }]);
    const requested = [...api.requests].sort();
    const wanted = [
      "/repos/acme/widgets/issues?per_page=100&state=all",
      ...Array.from({ length: 60 }, (_, i) => `/repos/acme/widgets/issues/${i + 1}/comments?per_page=100`),
    ].sort();
    expect(requested).toEqual(wanted);
  });

  test("child chains run concurrently but never more than max_concurrency requests at once", async () => {
    const server = startServer(async (request) => {
      if (request.url.pathname === "/parents") return json(Array.from({ length: 40 }, (_, i) => ({ id: i })));
      await Bun.sleep(30);
      return json([{ id: request.url.pathname }]);
    });
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nmax_concurrency = 4\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(server.concurrency.max).toBe(4);
    expect(await p.query("select count(*) as n from data.children")).toEqual([{ n: 40 }]);
  });

  test("max_connections_per_host caps one host below max_concurrency", async () => {
    const server = startServer(async (request) => {
      if (request.url.pathname === "/parents") return json(Array.from({ length: 20 }, (_, i) => ({ id: i })));
      await Bun.sleep(20);
      return json([{ id: request.url.pathname }]);
    });
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nmax_concurrency = 8\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\nmax_connections_per_host = 2\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(server.concurrency.max).toBe(2);
  });

  test("a requests_per_second budget holds across concurrent chains", async () => {
    const starts: number[] = [];
    const server = startServer((request) => {
      starts.push(performance.now());
      if (request.url.pathname === "/parents") return json(Array.from({ length: 10 }, (_, i) => ({ id: i })));
      return json([{ id: 1 }]);
    });
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nmax_concurrency = 8\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\nrequests_per_second = 20\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    expect((await p.run()).code).toBe(0);
    // 11 requests at 20 per second take at least 10 intervals of 50 ms (a lower bound, not a timing target).
    expect(starts).toHaveLength(11);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(10 * 50 - 5);
  });

  test("a 429 with Retry-After on one child pauses the host for every chain", async () => {
    const starts: { path: string; at: number }[] = [];
    let limited = false;
    const server = startServer(async (request) => {
      starts.push({ path: request.url.pathname, at: performance.now() });
      if (request.url.pathname === "/parents") return json(Array.from({ length: 6 }, (_, i) => ({ id: i })));
      if (request.url.pathname === "/parents/0/children" && !limited) {
        limited = true;
        return json({}, { status: 429, headers: { "retry-after": "1" } });
      }
      await Bun.sleep(50);
      return json([{ id: request.url.pathname }]);
    });
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nmax_concurrency = 2\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const limitedAt = starts.find((s) => s.path === "/parents/0/children")!.at;
    const afterwards = starts.filter((s) => s.at > limitedAt && s.path !== "/parents/1/children");
    // Every request started after the 429 (but the one already in flight) waited out the second.
    expect(afterwards.length).toBeGreaterThan(0);
    for (const start of afterwards) expect(start.at - limitedAt).toBeGreaterThanOrEqual(990);
    expect(await p.query("select count(*) as n from data.children")).toEqual([{ n: 6 }]);
  });

  test("a non-retryable failure in one child chain fails its unit only; the summary names the request; exit 1", async () => {
    const server = startServer((request) => {
      if (request.url.pathname === "/parents") return json([{ id: 1 }, { id: 2 }, { id: 3 }]);
      if (request.url.pathname === "/others") return json([{ id: "x" }]);
      if (request.url.pathname === "/parents/2/children") return json({ message: "forbidden" }, { status: 403 });
      return json([{ id: request.url.pathname }]);
    });
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n[[resources]]\nname = "others"\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("unit parents: failed");
    expect(result.stdout).toContain('Cannot fetch page 1 of resource "children" as the server returned 403: GET http://127.0.0.1');
    expect(result.stdout).toContain("/parents/2/children");
    expect(result.stdout).toContain("unit others: committed, 1 row");
    expect(
      await p.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name in ('parents', 'children')"),
    ).toEqual([{ n: 0 }]);
  });

  test("a parent field that does not exist fails naming the fields that do", async () => {
    const server = startServer((request) => (request.url.pathname === "/parents" ? json([{ id: 1, name: "a" }]) : json([])));
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.slug}/children"\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'Cannot resolve {resources.parents.slug} for resource "children" as the parent record has no field "slug"; its fields are: id, name',
    );
  });

  test("a URL from parent data pointing to another origin is refused", async () => {
    const other = startServer(() => json([{ stolen: true }]));
    stops.push(other);
    const server = startServer(() => json([{ id: 1, url: `${other.origin}/details` }]));
    stops.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\nauth = { token = "t0k3n-value" }\npaginator = "single_page"\n[[resources]]\nname = "parents"\n[[resources]]\nname = "details"\nendpoint.path = "{resources.parents.url}"\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("Cannot follow a URL built from parent data");
    expect(other.requests).toHaveLength(0);
  });
});
