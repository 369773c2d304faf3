// ctx.fetch of module resources (bodies read as text, the client's headers), failing modules, and
// what a stopped run leaves a module: its finally blocks may still send cleanup requests, and a
// module that ignores ctx.signal does not hang the run.
import { describe, expect, test } from "bun:test";
import { SecretRef } from "../../src/config/references.ts";
import { clientHeaders } from "../../src/extract/request-builder.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { moduleProject, spawnRun, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

function serve(handler: Parameters<typeof startServer>[0]): TestServer {
  const server = startServer(handler);
  servers.push(server);
  return server;
}

const requestLine = (request: { method: string; url: URL }) => `${request.method} ${request.url.pathname}`;

describe("ctx.fetch", () => {
  test("a compressed body reads as text without the wire's Content-Encoding and Content-Length; reading a body as bytes fails clearly", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe]);
    const server = serve((request) =>
      request.url.pathname === "/zipped"
        ? new Response(Bun.gzipSync(JSON.stringify({ word: "grüße" })), {
            headers: { "content-encoding": "gzip", "content-type": "application/json" },
          })
        : new Response(png, { headers: { "content-type": "image/png" } }),
    );
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "zipped"
module = "./exports.ts"
export = "zipped"
[[resources]]
name = "image"
module = "./exports.ts"
export = "image"
`,
      `const refused = async (read) => {
  try {
    await read();
    return "read";
  } catch (error) {
    return error.code ?? String(error);
  }
};
export async function* zipped(ctx) {
  const response = await ctx.fetch("zipped");
  yield {
    encoding: String(response.headers.get("content-encoding")),
    length: String(response.headers.get("content-length")),
    word: (await response.clone().json()).word,
    array_buffer: await refused(() => response.arrayBuffer()),
    blob: await refused(() => response.blob()),
    body: await refused(() => response.body),
    text: await response.text(),
  };
}
export async function* image(ctx) {
  const response = await ctx.fetch("image.png");
  yield { size: (await response.arrayBuffer()).byteLength };
}
`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    expect(await p.query("select encoding, length, word, array_buffer, blob, body, text from data.zipped")).toEqual([
      {
        encoding: "null",
        length: "null",
        word: "grüße",
        array_buffer: "E_STEP",
        blob: "E_STEP",
        body: "E_STEP",
        text: '{"word":"grüße"}',
      },
    ]);
    const image = JSON.parse(result.stdout).units.find((unit: { unit: string }) => unit.unit === "image");
    expect(image.error).toMatchObject({ code: "E_STEP", context: { resource: "image" } });
    expect(image.error.message).toBe(
      `Cannot read the body of ${server.url}image.png with .arrayBuffer() in module resource "image" as ctx.fetch reads bodies as UTF-8 text: binary bodies are not supported yet`,
    );
  });

  test("a module's requests carry the client's headers as an endpoint's do: names lower-cased, secrets filled in", async () => {
    const key = "k3y-4711";
    const server = serve(() => json([{ id: 1 }]));
    const p = moduleProject(
      `${testHead(server.url)}headers = { "X-Api-Key" = { secret = "api_key" }, Accept = "application/vnd.example+json" }
[[resources]]
name = "declared"
endpoint.path = "declared"
endpoint.paginator = "single_page"
[[resources]]
name = "coded"
module = "./exports.ts"
export = "coded"
`,
      `export async function* coded(ctx) { yield await (await ctx.fetch("coded")).json(); }\n`,
    );
    expect((await p.run([], { RESTLOAD_SECRET_API_KEY: key })).code).toBe(0);
    const sent = Object.fromEntries(
      server.requests.map((request) => [
        request.url.pathname,
        { key: request.headers.get("x-api-key"), accept: request.headers.get("accept") },
      ]),
    );
    const expected = { key, accept: "application/vnd.example+json" };
    expect(sent).toEqual({ "/declared": expected, "/coded": expected });
  });

  test("client headers as every request sends them: null leaves the header out, a table is its JSON text", () => {
    const secret = (ref: SecretRef) => `value of ${ref.name}`;
    expect(
      clientHeaders(
        { "X-Key": new SecretRef("key", "client.headers.X-Key"), Gone: null, Filter: { state: "open" }, "X-Retries": 3 },
        secret,
      ),
    ).toEqual({
      "x-key": "value of key",
      filter: '{"state":"open"}',
      "x-retries": "3",
    });
  });
});

describe("a failing module resource", () => {
  test("a module that throws fails its unit with the message masked and the resource named; nothing of the unit is committed", async () => {
    const token = "s3cret-Token-4711";
    const server = serve((request) => json({ seen: request.headers.get("authorization") }));
    const p = moduleProject(
      `${testHead(server.url)}auth = { type = "bearer", token = { secret = "api_token" } }
[[resources]]
name = "broken"
module = "./exports.ts"
export = "broken"
[[resources]]
name = "fine"
module = "./exports.ts"
export = "fine"
`,
      `export async function* broken(ctx) {
  yield [{ id: 1 }, { id: 2 }];
  const { seen } = await (await ctx.fetch("whoami")).json();
  throw new Error(\`refused for \${seen}\`);
}
export async function* fine() { yield { id: 7 }; }
`,
    );
    const result = await p.run([], { RESTLOAD_SECRET_API_TOKEN: token });
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toContain('Module resource "broken" failed (export "broken" of "./exports.ts"): refused for Bearer ***');
    expect(output).not.toContain(token);
    expect(server.requests[0]!.headers.get("authorization")).toBe(`Bearer ${token}`);
    expect(await p.query("select count(*) as n from duckdb_tables() where table_name = 'broken'")).toEqual([{ n: 0 }]);
    expect(await p.query("select unit, status from data._rl_loads order by unit")).toEqual([
      { unit: "broken", status: "failed" },
      { unit: "fine", status: "committed" },
    ]);
    expect(await p.query("select id from data.fine")).toEqual([{ id: 7 }]);
  });

  test("an export that is not an async generator function, and a ctx.fetch answered 404, fail their units clearly", async () => {
    const server = serve(() => json({ message: "Not Found" }, { status: 404 }));
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "plain"
module = "./exports.ts"
export = "plain"
[[resources]]
name = "missing"
module = "./exports.ts"
export = "missing"
`,
      `export function plain() { return [{ id: 1 }]; }
export async function* missing(ctx) { yield { id: 1 }; await ctx.fetch("gone"); }
`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    const [plain, missing] = JSON.parse(result.stdout).units;
    expect(plain.error).toMatchObject({ code: "E_STEP", context: { resource: "plain" } });
    expect(plain.error.message).toBe(
      'Cannot use "plain" of module "./exports.ts" for module resource "plain" as it is not an async generator function',
    );
    expect(missing.error).toMatchObject({ code: "E_HTTP", context: { resource: "missing" } });
    expect(missing.error.message).toStartWith(
      `Cannot fetch request 1 of resource "missing" as the server returned 404: GET ${server.url}gone`,
    );
  });
});

/**
 * An export-job API: POST /exports starts job-<n>, which stays "running"; POST /exports/{id}/cancel
 * cancels it. Every request is logged.
 */
function endlessJobApi() {
  let jobs = 0;
  return serve((request) => {
    const path = request.url.pathname;
    if (request.method === "POST" && path === "/exports") return json({ id: `job-${++jobs}` }, { status: 202 });
    if (request.method === "POST" && /^\/exports\/[^/]+\/cancel$/.test(path)) return json({ status: "cancelled" });
    if (/^\/exports\/[^/]+$/.test(path)) return json({ status: "running" });
    return json({ message: "Not Found" }, { status: 404 });
  });
}

/** Starts a job, yields `[{ id: 1 }]`, polls it; a finally block cancels the job unless it finished. */
const cancellingModule = `export async function* job(ctx) {
  const { id } = await (await ctx.fetch("exports", { method: "POST", body: "{}" })).json();
  let finished = false;
  try {
    yield [{ id: 1 }];
    for (;;) {
      const job = await (await ctx.fetch(\`exports/\${id}\`)).json();
      if (job.status === "done") break;
      await ctx.sleep(20);
    }
    finished = true;
  } finally {
    if (!finished) await ctx.fetch(\`exports/\${id}/cancel\`, { method: "POST" });
  }
}
`;

describe("a stopped module", () => {
  test("SIGTERM stops a module waiting on ctx.sleep at once: the run exits 143", async () => {
    const server = serve(() => json({ ok: true }));
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "slow"
module = "./exports.ts"
export = "slow"
`,
      `export async function* slow(ctx) {
  await ctx.fetch("started");
  await ctx.sleep(60_000);
  yield { id: 1 };
}
`,
    );
    const { proc, output } = spawnRun(p.pipeline);
    while (server.requests.length === 0) await Bun.sleep(20);
    const stoppedAt = Date.now();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(await output).toContain("interrupted");
  });

  test("after SIGTERM, the module's finally block still sends its cleanup request (cancelling the export job)", async () => {
    const server = endlessJobApi();
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]\nname = "job"\nmodule = "./exports.ts"\nexport = "job"\n`,
      cancellingModule,
    );
    const { proc, output } = spawnRun(p.pipeline);
    while (!server.requests.some((request) => request.url.pathname === "/exports/job-1")) await Bun.sleep(20);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(await output).toContain("interrupted");
    expect(server.requests.map(requestLine).filter((line) => !line.startsWith("GET"))).toEqual([
      "POST /exports",
      "POST /exports/job-1/cancel",
    ]);
    expect(await p.query("select count(*) as n from duckdb_tables() where table_name = 'job'")).toEqual([{ n: 0 }]);
  });

  test("when another chain of the unit fails, the module's finally block still cancels its job", async () => {
    const server = endlessJobApi();
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]
name = "job"
module = "./exports.ts"
export = "job"
[[resources]]
name = "notes"
endpoint.path = "jobs/{resources.job.id}/notes"
endpoint.paginator = "single_page"
`,
      cancellingModule,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).units[0].error).toMatchObject({ code: "E_HTTP", context: { resource: "notes" } });
    expect(server.requests.map(requestLine)).toContain("POST /exports/job-1/cancel");
  });

  test("a module awaiting something that ignores ctx.signal is given up on after the grace: SIGTERM still ends the run", async () => {
    const server = serve(() => json({ ok: true }));
    const p = moduleProject(
      `${testHead(server.url)}[[resources]]\nname = "stuck"\nmodule = "./exports.ts"\nexport = "stuck"\n`,
      `export async function* stuck(ctx) {
  await ctx.fetch("started");
  await new Promise((resolve) => setTimeout(resolve, 600_000));
  yield { id: 1 };
}
`,
    );
    const { proc, output } = spawnRun(p.pipeline);
    while (server.requests.length === 0) await Bun.sleep(20);
    const stoppedAt = Date.now();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    // The grace is 10 s: the run waits that long for the module, then rolls back and ends.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(9_000);
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    expect(await output).toContain("interrupted");
  }, 60_000);
});
