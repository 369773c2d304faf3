// Credentials reach only the API's origin: cross-origin next links, Link headers and redirects are
// refused (or, for allowed_origins, followed without credentials); secrets never appear in errors.
import { describe, expect, test } from "bun:test";
import { RestloadError } from "../../src/errors.ts";
import { json, startServer, type LoggedRequest, serversStoppedAfterAll } from "../servers/server.ts";
import { readFileSync } from "node:fs";
import { leakForms } from "../helpers.ts";
import { project } from "../run/_helpers.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const canary = "c4n4ry+/=&k3y";
const canaryForms = leakForms(canary);

const auths: Record<string, string> = {
  bearer: 'auth = { type = "bearer", token = { secret = "canary" } }',
  "api_key in a header": 'auth = { type = "api_key", name = "X-Api-Key", api_key = { secret = "canary" } }',
  "api_key in the query": 'auth = { type = "api_key", name = "api_key", api_key = { secret = "canary" }, location = "query" }',
  "api_key in a cookie": 'auth = { type = "api_key", name = "session", api_key = { secret = "canary" }, location = "cookie" }',
  http_basic: 'auth = { type = "http_basic", username = "user", password = { secret = "canary" } }',
};

const servers = serversStoppedAfterAll();

/** Everything a request carried that could hold a credential. */
function carried(request: LoggedRequest): string {
  return [
    request.url.toString(),
    request.headers.get("authorization"),
    request.headers.get("x-api-key"),
    request.headers.get("cookie"),
    request.body,
  ].join(" ");
}

function expectNoCanary(text: string): void {
  for (const form of canaryForms) expect(text).not.toContain(form);
}

const ways: Record<string, (other: string) => (request: LoggedRequest) => Response> = {
  "a json_link next URL": (other) => () => json({ data: [{ id: 1 }], next: `${other}/steal?page=2` }),
  "a header_link next URL": (other) => () => json([{ id: 1 }], { headers: { link: `<${other}/steal?page=2>; rel="next"` } }),
  "a 302 redirect": (other) => () => new Response(null, { status: 302, headers: { location: `${other}/steal` } }),
};

describe("credentials never cross origins", () => {
  for (const [way, respond] of Object.entries(ways)) {
    for (const [authName, auth] of Object.entries(auths)) {
      test(`${way} to another origin is refused and never receives ${authName} credentials`, async () => {
        const attacker = startServer(() => json([{ id: 666 }]));
        servers.push(attacker);
        const api = startServer(respond(attacker.origin));
        servers.push(api);
        const result = await extract(`${pipelineHead(api.url, auth)}\n[[resources]]\nname = "items"\n`, { secrets: { canary } });
        expect(attacker.requests).toHaveLength(0);
        expect(result.error).toBeInstanceOf(RestloadError);
        expect((result.error as RestloadError).code).toBe("E_ORIGIN");
        expect(result.error!.message).toContain(`its origin ${attacker.origin} is not the API's (${api.origin})`);
        expect((result.error as RestloadError).hint).toContain("allowed_origins");
        expectNoCanary(result.error!.message + ((result.error as RestloadError).hint ?? ""));
        // The API itself did get the credentials: the check is about where they go, not whether.
        expect(
          carried(api.requests[0]!).includes(canary) ||
            carried(api.requests[0]!).includes(encodeURIComponent(canary)) ||
            carried(api.requests[0]!).includes(Buffer.from(`user:${canary}`).toString("base64")),
        ).toBe(true);
      });
    }
  }

  test("an origin in allowed_origins is followed, without credentials", async () => {
    const cdn = startServer(() => json({ data: [{ id: 2 }] }));
    servers.push(cdn);
    const api = startServer(() => json({ data: [{ id: 1 }], next: `${cdn.origin}/page2` }));
    servers.push(api);
    const result = await extract(
      `${pipelineHead(api.url, `${auths.bearer}\nallowed_origins = ["${cdn.origin}"]`)}\n[[resources]]\nname = "items"\nendpoint.paginator = "json_link"\n`,
      { secrets: { canary } },
    );
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([{ id: 1 }, { id: 2 }]);
    expect(cdn.requests).toHaveLength(1);
    expectNoCanary(carried(cdn.requests[0]!));
  });

  test("a same-origin redirect is followed with credentials", async () => {
    const api = startServer((request) =>
      request.url.pathname === "/items" ? new Response(null, { status: 301, headers: { location: "/v2/items" } }) : json([{ id: 1 }]),
    );
    servers.push(api);
    const result = await extract(`${pipelineHead(api.url, auths.bearer)}\n[[resources]]\nname = "items"\n`, { secrets: { canary } });
    expect(result.records.items).toEqual([{ id: 1 }]);
    expect(api.requests.map((r) => r.url.pathname)).toEqual(["/items", "/v2/items"]);
    expect(api.requests[1]!.headers.get("authorization")).toBe(`Bearer ${canary}`);
  });

  test("a canary key never appears in errors, raw or percent-encoded, even when the URL carries it", async () => {
    // The API echoes the key into its next link (some do), then fails on that page.
    const api = startServer((_request, i) =>
      i === 0
        ? json({ data: [{ id: 1 }], next: `/items?page=2&api_key=${encodeURIComponent(canary)}` })
        : json({ message: `bad key ${canary}` }, { status: 500 }),
    );
    servers.push(api);
    const result = await extract(
      `${pipelineHead(api.url, `${auths["api_key in the query"]}\nmax_attempts = 2`)}\n[[resources]]\nname = "items"\nendpoint.paginator = "json_link"\n`,
      { secrets: { canary } },
    );
    expect(result.error!.message).toContain("page=2&api_key=***");
    expect(result.error!.message).toContain("bad key ***");
    expectNoCanary(result.error!.message);
    for (const retry of result.retries) expectNoCanary(retry.reason);
  });
});

describe("secrets an API or the runtime echoes in part or another form", () => {
  const everything = async (p: ReturnType<typeof project>, ran: { stdout: string; stderr: string }) =>
    [
      ran.stdout,
      ran.stderr,
      readFileSync(`${p.database}.data.status.json`, "utf8"),
      JSON.stringify(await p.query("select error from data._rl_runs union all select error from data._rl_loads")),
    ].join("\n");

  test("a password in base_url stays out of a connection failure's message (the runtime quotes the URL)", async () => {
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "http://bob:CANARYui14@127.0.0.1:1/api/"\nmax_attempts = 1\n[[resources]]\nname = "items"\n`,
    );
    const ran = await p.run();
    expect(ran.code).toBe(1);
    const text = await everything(p, ran);
    expect(text).toContain("the connection failed");
    expect(text).not.toContain("CANARYui14");
  });

  test("a token inside a URL secret, a header secret's token, and a form-encoded query secret read back by the API stay masked", async () => {
    const server = startServer((request) =>
      json(
        { path: request.url.pathname, key: decodeURIComponent(request.url.search), auth: request.headers.get("x-auth") },
        { status: 404 },
      ),
    );
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = { secret = "burl" }\nheaders = { "X-Auth" = { secret = "hdr" } }\nauth = { type = "api_key", name = "k", api_key = { secret = "qk" }, location = "query" }\nmax_attempts = 1\n[[resources]]\nname = "items"\n`,
    );
    const ran = await p.run([], {
      RESTLOAD_SECRET_BURL: `${server.url}api/CANARYpath12/`,
      RESTLOAD_SECRET_HDR: "Token CANARYhdr12345",
      RESTLOAD_SECRET_QK: "CANARY q+k&9",
    });
    expect(ran.code).toBe(1);
    const text = await everything(p, ran);
    expect(text).toContain("404");
    for (const leak of ["CANARYpath12", "CANARYhdr12345", "CANARY+q+k&9", "CANARY q+k&9"]) expect(text).not.toContain(leak);
  });
});
