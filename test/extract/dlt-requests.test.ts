// Request bodies and headers as dlt's rest_api sends them (SPEC §5.7), checked on what a local server received.
import { describe, expect, test } from "bun:test";
import { project, testHead } from "../run/_helpers.ts";
import { json, type LoggedRequest, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { runMain } from "../helpers.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

/** A server answering `[{ id: 1 }]` to every request; its log is what restload sent. */
function recorder(): TestServer {
  const server = startServer(() => json([{ id: 1 }]));
  servers.push(server);
  return server;
}

/** Extracts `resource` (a [[resources]] body) against a recording server; returns the one request it got. */
async function sent(resource: string, client = "", secrets: Record<string, string> = {}): Promise<LoggedRequest> {
  const server = recorder();
  const result = await extract(`${pipelineHead(server.url, client)}\n[[resources]]\nname = "items"\n${resource}\n`, { secrets });
  expect(result.error).toBeUndefined();
  expect(server.requests).toHaveLength(1);
  return server.requests[0]!;
}

describe("endpoint.data", () => {
  test("a string data is sent raw, with no Content-Type (as requests sends a str body)", async () => {
    const request = await sent(`endpoint = { method = "POST", data = "<query>a &amp; b</query>" }`);
    expect(request.method).toBe("POST");
    expect(request.body).toBe("<query>a &amp; b</query>");
    expect(request.headers.get("content-type")).toBeNull();
  });

  test("a string data goes with the Content-Type set in endpoint headers", async () => {
    const request = await sent(
      `endpoint = { method = "POST", data = "id,name\\n1,a\\n", headers = { "Content-Type" = "text/csv; charset=utf-8" } }`,
    );
    expect(request.body).toBe("id,name\n1,a\n");
    expect(request.headers.get("content-type")).toBe("text/csv; charset=utf-8");
  });

  test("a table data is form-encoded with the form Content-Type", async () => {
    const request = await sent(`endpoint = { method = "POST", data = { q = "a b&c", n = 2, tags = ["x", "y"] } }`);
    expect(request.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(request.body).toBe("q=a+b%26c&n=2&tags=x&tags=y");
  });

  test("a Content-Type set in headers wins over the form one, as in requests", async () => {
    const request = await sent(
      `endpoint = { method = "POST", data = { q = "x" }, headers = { "content-type" = "application/x-www-form-urlencoded; charset=utf-8" } }`,
    );
    expect(request.headers.get("content-type")).toBe("application/x-www-form-urlencoded; charset=utf-8");
    expect(request.body).toBe("q=x");
  });

  test("a Content-Type set in headers wins over the JSON one for a json body", async () => {
    const request = await sent(
      `endpoint = { method = "POST", json = { q = "x" }, headers = { "Content-Type" = "application/vnd.api+json" } }`,
    );
    expect(request.headers.get("content-type")).toBe("application/vnd.api+json");
    expect(JSON.parse(request.body)).toEqual({ q: "x" });
  });

  test("a json body without a Content-Type header is sent as application/json", async () => {
    const request = await sent(`endpoint = { method = "POST", json = { q = "x" } }`);
    expect(request.headers.get("content-type")).toBe("application/json");
  });

  test("placeholders in a string data are filled, {{ }} are literal braces, and the body stays raw", async () => {
    const request = await sent(
      `endpoint.method = "POST"\nendpoint.data = "since={incremental.start_value} {{literal}}"\nendpoint.incremental = { cursor_path = "id", initial_value = 7 }`,
    );
    expect(request.body).toBe("since=7 {literal}");
    expect(request.headers.get("content-type")).toBeNull();
  });

  test("a string data that is one placeholder is sent as the value's text", async () => {
    const request = await sent(
      `endpoint.method = "POST"\nendpoint.data = "{incremental.start_value}"\nendpoint.incremental = { cursor_path = "id", initial_value = 7 }`,
    );
    expect(request.body).toBe("7");
    expect(request.headers.get("content-type")).toBeNull();
  });

  test("a secret in a table data is filled in before form-encoding", async () => {
    const request = await sent(`endpoint = { method = "POST", data = { token = { secret = "body" } } }`, "", { body: "a&b=c" });
    expect(request.body).toBe("token=a%26b%3Dc");
    expect(request.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
  });

  test("a form POST redirected with 303 becomes a GET without the body or its Content-Type", async () => {
    const server = startServer((r) =>
      r.url.pathname === "/items" ? new Response(null, { status: 303, headers: { location: "/result" } }) : json([{ id: 1 }]),
    );
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint = { method = "POST", data = { q = "x" } }\n`,
    );
    expect(result.error).toBeUndefined();
    expect(server.requests.map((r) => [r.method, r.url.pathname, r.headers.get("content-type"), r.body])).toEqual([
      ["POST", "/items", "application/x-www-form-urlencoded", "q=x"],
      ["GET", "/result", null, ""],
    ]);
  });

  test("a child's string data takes parent fields", async () => {
    const server = startServer((r) => (r.url.pathname === "/parents" ? json([{ id: 41 }, { id: 42 }]) : json([{ ok: true }])));
    servers.push(server);
    const run = project(
      `${testHead(server.url)}\n[[resources]]\nname = "parents"\n\n[[resources]]\nname = "children"\nendpoint = { path = "search", method = "POST", data = "parent={resources.parents.id}" }\n`,
    );
    const result = await run.run();
    expect(result.code).toBe(0);
    const children = server.requests.filter((r) => r.url.pathname === "/search");
    expect(children.map((r) => r.body).sort()).toEqual(["parent=41", "parent=42"]);
    expect(children.map((r) => r.headers.get("content-type"))).toEqual([null, null]);
  });
});

describe("headers", () => {
  test("client headers are sent exactly as written, braces included", async () => {
    const request = await sent(
      `endpoint.path = "items"`,
      `headers = { "X-Template" = "{not_a_placeholder}", "X-Escaped" = "{{x}}", "X-Incremental" = "{incremental.start_value}" }`,
    );
    expect(request.headers.get("x-template")).toBe("{not_a_placeholder}");
    expect(request.headers.get("x-escaped")).toBe("{{x}}");
    expect(request.headers.get("x-incremental")).toBe("{incremental.start_value}");
  });

  test("client headers are not filled from parent data in a child's requests", async () => {
    const server = startServer((r) => (r.url.pathname === "/parents" ? json([{ id: 41 }]) : json([{ ok: true }])));
    servers.push(server);
    const run = project(
      `${testHead(server.url)}headers = { "X-Parent" = "{resources.parents.id}" }\n[[resources]]\nname = "parents"\n\n[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    const result = await run.run();
    expect(result.code).toBe(0);
    expect(server.requests.map((r) => [r.url.pathname, r.headers.get("x-parent")])).toEqual([
      ["/parents", "{resources.parents.id}"],
      ["/parents/41/children", "{resources.parents.id}"],
    ]);
  });

  test("a client header with braces passes check", async () => {
    const run = project(
      `${testHead("https://api.example.com/")}headers = { "X-Template" = "{not_a_placeholder}" }\n[[resources]]\nname = "items"\n`,
    );
    const result = await runMain(["check", run.pipeline]);
    expect(result.stderr).not.toContain("placeholder");
    expect(result.code).toBe(0);
  });

  test("endpoint headers take placeholders and {{ }} escapes, and win over client headers of the same name", async () => {
    const request = await sent(
      `endpoint.headers = { "X-Since" = "{incremental.start_value}", "X-Escaped" = "{{x}}", "x-shared" = "endpoint" }\nendpoint.incremental = { cursor_path = "id", initial_value = 7 }`,
      `headers = { "X-Shared" = "client" }`,
    );
    expect(request.headers.get("x-since")).toBe("7");
    expect(request.headers.get("x-escaped")).toBe("{x}");
    expect(request.headers.get("x-shared")).toBe("endpoint");
  });

  test("resource_defaults.endpoint.headers are endpoint headers: placeholders are filled", async () => {
    const server = recorder();
    const result = await extract(
      `${pipelineHead(server.url)}\n[resource_defaults]\nendpoint.headers = { "X-Since" = "{incremental.start_value}", "X-Escaped" = "{{x}}" }\n\n[[resources]]\nname = "items"\nendpoint.incremental = { cursor_path = "id", initial_value = 7 }\n`,
    );
    expect(result.error).toBeUndefined();
    expect(server.requests[0]!.headers.get("x-since")).toBe("7");
    expect(server.requests[0]!.headers.get("x-escaped")).toBe("{x}");
  });

  test("an unknown placeholder in resource_defaults.endpoint.headers is an error at its path", async () => {
    const run = project(
      `${testHead("https://api.example.com/")}\n[resource_defaults]\nendpoint.headers = { "X-Template" = "{not_a_placeholder}" }\n\n[[resources]]\nname = "items"\n`,
    );
    const result = await runMain(["check", run.pipeline]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("resource_defaults.endpoint.headers.X-Template: unknown placeholder {not_a_placeholder}");
    expect(result.stderr).toContain("unknown placeholder {not_a_placeholder}");
  });
});
