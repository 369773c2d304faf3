// The auth hook `{ module, export }`: a function of the user's file signs every attempt (HMAC here),
// from source, from the compiled binary and on Deno; what it may return and how it fails.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compiledBinary, denoBin, restload, run, tempDir } from "../helpers.ts";
import { project, testHead } from "../run/_helpers.ts";
import { json, startServer, type LoggedRequest, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { Redactor } from "../../src/config/redact.ts";
import type { RestloadError } from "../../src/errors.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const hmacKey = "hk-4b1c9e7d2a8f6035";

/** HMAC-SHA256 of method, path and query, timestamp, nonce and body, with a key read from the environment. */
const signModule = `import { createHmac, randomUUID } from "node:crypto";

export async function sign({ method, url, headers, body }) {
  const key = process.env.HOOK_HMAC_KEY;
  if (!key) throw new Error("HOOK_HMAC_KEY is not set");
  const target = new URL(url);
  const timestamp = String(Date.now());
  const nonce = randomUUID();
  const payload = [method, target.pathname + target.search, timestamp, nonce, headers["content-type"] ?? "", body ?? ""].join("\\n");
  return { "X-Timestamp": timestamp, "x-nonce": nonce, "x-signature": createHmac("sha256", key).update(payload).digest("hex") };
}
`;

interface Verdict {
  readonly ok: boolean;
  readonly nonce: string;
  readonly timestamp: number;
  readonly page: number;
  readonly status: number;
}

/**
 * An API that checks the HMAC of every request and refuses a nonce seen before; pages 0..2 by a
 * Link header, and the first attempt of page 1 fails with a 503 (after its signature was checked).
 */
function hmacApi() {
  const verdicts: Verdict[] = [];
  const nonces = new Set<string>();
  let failedOnce = false;
  const server = startServer((request: LoggedRequest) => {
    const page = Number(request.url.searchParams.get("page") ?? 0);
    const timestamp = request.headers.get("x-timestamp") ?? "";
    const nonce = request.headers.get("x-nonce") ?? "";
    const payload = [
      request.method,
      request.url.pathname + request.url.search,
      timestamp,
      nonce,
      request.headers.get("content-type") ?? "",
      request.body,
    ].join("\n");
    const expected = createHmac("sha256", hmacKey).update(payload).digest("hex");
    const ok = request.headers.get("x-signature") === expected && nonce !== "" && !nonces.has(nonce);
    nonces.add(nonce);
    const status = !ok ? 401 : page === 1 && !failedOnce ? 503 : 200;
    verdicts.push({ ok, nonce, timestamp: Number(timestamp), page, status });
    if (status === 401) return json({ message: "bad signature" }, { status });
    if (status === 503) {
      failedOnce = true;
      return json({ message: "try again" }, { status });
    }
    const next = new URL(request.url);
    next.searchParams.set("page", String(page + 1));
    return json([{ id: page, body: request.body }], { headers: page < 2 ? { link: `<${next.href}>; rel="next"` } : {} });
  });
  servers.push(server);
  return { server, verdicts };
}

/** A project whose resource POSTs a JSON body, signed by `sign.ts` beside the pipeline file. */
function signedProject(server: TestServer, auth = 'auth = { module = "./sign.ts", export = "sign" }') {
  const p = project(
    `${testHead(`${server.origin}/`)}backoff_factor = 0.05\n${auth}\n[[resources]]\nname = "items"\nendpoint = { path = "items", method = "POST", json = { q = "open" } }\n`,
  );
  writeFileSync(join(p.dir, "sign.ts"), signModule);
  return p;
}

/** Every request carried a valid, fresh signature, the retry of page 1 included. */
function expectSignedEveryAttempt(verdicts: readonly Verdict[]): void {
  expect(verdicts.map((v) => [v.page, v.status])).toEqual([
    [0, 200],
    [1, 503],
    [1, 200],
    [2, 200],
  ]);
  expect(verdicts.every((v) => v.ok)).toBe(true);
  const [, failed, retried] = verdicts;
  expect(retried!.nonce).not.toBe(failed!.nonce);
  expect(retried!.timestamp).toBeGreaterThan(failed!.timestamp);
}

describe("auth hook", () => {
  test("a signing module makes every request of a paginated POST pass an HMAC check, the retry re-signed", async () => {
    const { server, verdicts } = hmacApi();
    const p = signedProject(server);
    const ran = await restload(["run", p.pipeline, "--log-level", "debug"], { env: { ...process.env, HOOK_HMAC_KEY: hmacKey } });
    expect(ran.stderr).not.toContain("error");
    expect(ran.code).toBe(0);
    expectSignedEveryAttempt(verdicts);
    expect(await p.query("select id, body from data.items order by id")).toEqual([
      { id: 0, body: '{"q":"open"}' },
      { id: 1, body: '{"q":"open"}' },
      { id: 2, body: '{"q":"open"}' },
    ]);
    // The signatures the hook returned are masked wherever they would be printed.
    const signatures = server.requests.map((r) => r.headers.get("x-signature")!);
    for (const signature of signatures) expect(`${ran.stdout}${ran.stderr}`).not.toContain(signature);
  }, 60_000);

  test("an endpoint's hook signs its requests; check --json shows the hook's module and export", async () => {
    const { server, verdicts } = hmacApi();
    const p = signedProject(server, "");
    writeFileSync(
      p.pipeline,
      `${testHead(`${server.origin}/`)}backoff_factor = 0.05\n[[resources]]\nname = "items"\nendpoint = { path = "items", method = "POST", json = { q = "open" }, auth = { module = "./sign.ts", export = "sign" } }\n`,
    );
    const checked = await restload(["check", p.pipeline, "--json"]);
    expect(checked.code).toBe(0);
    const auth = JSON.parse(checked.stdout).resources[0].auth;
    expect(auth).toEqual({ type: "hook", module: "./sign.ts", export: "sign" });
    const ran = await restload(["run", p.pipeline], { env: { ...process.env, HOOK_HMAC_KEY: hmacKey } });
    expect(ran.code).toBe(0);
    expectSignedEveryAttempt(verdicts);
  }, 60_000);

  test("the compiled binary imports the signing module from disk", async () => {
    const { server, verdicts } = hmacApi();
    const p = signedProject(server);
    const binary = await compiledBinary();
    const ran = await run([binary, "run", p.pipeline], {
      env: { PATH: "/usr/bin:/bin", RESTLOAD_CACHE_DIR: tempDir(), HOOK_HMAC_KEY: hmacKey },
    });
    expect(ran.stderr).not.toContain("error");
    expect(ran.code).toBe(0);
    expectSignedEveryAttempt(verdicts);
  }, 300_000);

  test("deno task restload runs the signing module", async () => {
    const { server, verdicts } = hmacApi();
    const p = signedProject(server);
    const ran = await run([denoBin, "task", "--quiet", "restload", "run", p.pipeline], { env: { ...process.env, HOOK_HMAC_KEY: hmacKey } });
    expect(ran.stderr).not.toContain("error");
    expect(ran.code).toBe(0);
    expectSignedEveryAttempt(verdicts);
  }, 120_000);
});

describe("auth hook: bad input", () => {
  /** Extracts one page with `auth = <auth>` against a server that accepts anything; a module of `text` in its own folder. */
  async function withHook(text: string | null, exportName = "sign") {
    const server = startServer(() => json([{ id: 1 }]));
    servers.push(server);
    const module = join(tempDir(), "hook.ts");
    if (text !== null) writeFileSync(module, text);
    const result = await extract(
      `${pipelineHead(server.url, `auth = { module = "${module}", export = "${exportName}" }`)}\n[[resources]]\nname = "items"\n`,
    );
    return { result, module, server };
  }

  test("check reports an auth hook module that does not exist, with its TOML path", async () => {
    const p = project(
      `${testHead("https://api.example.com/")}auth = { module = "./nope.ts", export = "sign" }\n[[resources]]\nname = "items"\n[[resources]]\nname = "other"\nendpoint.auth = { module = "./gone.ts", export = "sign" }\n`,
    );
    const result = await restload(["check", p.pipeline, "--json"]);
    expect(result.code).toBe(78);
    const problems = JSON.parse(result.stdout).error.problems;
    expect(problems.map((problem: { path: string }) => problem.path)).toEqual(["resources[1].endpoint.auth", "client.auth"]);
    expect(problems[1].message).toStartWith('module "./nope.ts" does not exist');
  });

  test("a module that does not exist fails with E_AUTH naming it, before any request", async () => {
    const { result, module, server } = await withHook(null);
    expect(result.error).toMatchObject({ code: "E_AUTH" });
    expect(result.error!.message).toBe(`Cannot load module "${module}" of the auth hook as ${module} does not exist`);
    expect(server.requests).toHaveLength(0);
  });

  test("an export that is not a function fails with E_AUTH naming the module and what it exports", async () => {
    const { result, module } = await withHook("export const sign = 42;\nexport function other() { return {}; }\n");
    expect(result.error).toMatchObject({ code: "E_AUTH" });
    expect(result.error!.message).toBe(
      `Cannot use "sign" of module "${module}" in the auth hook as the module exports no such function (it exports: other)`,
    );
  });

  test("a hook that returns no object of headers fails with E_AUTH saying what it returned", async () => {
    const { result } = await withHook('export function sign() { return "hk-signature-value-123"; }\n');
    expect(result.error).toMatchObject({ code: "E_AUTH" });
    expect(result.error!.message).toEndWith("returned as it is not an object of headers: found a string");
    expect(result.error!.message).not.toContain("hk-signature-value-123");
    const nothing = await withHook("export function sign() {}\n");
    expect(nothing.result.error!.message).toEndWith("found undefined (no return value)");
    const badValue = await withHook('export async function sign() { return { "x-sig": { nested: true } }; }\n');
    expect(badValue.result.error!.message).toContain('the header "x-sig"');
  });

  test("a hook that throws fails with E_AUTH naming the hook and the request", async () => {
    const { result, module, server } = await withHook('export function sign() { throw new Error("no key"); }\n');
    expect(result.error).toMatchObject({ code: "E_AUTH" });
    expect(result.error!.message).toBe(`Cannot sign GET ${server.url}items with the auth hook ${module}#sign as it threw: no key`);
    expect(server.requests).toHaveLength(0);
  });

  test("headers the hook returns replace the request's, whatever their case, and a Headers object works", async () => {
    const server = startServer(() => json([{ id: 1 }]));
    servers.push(server);
    const module = join(tempDir(), "hook.ts");
    writeFileSync(module, 'export function sign(request) { return new Headers({ "X-Api-Key": "from-hook-" + request.method }); }\n');
    const result = await extract(
      `${pipelineHead(server.url, `headers = { "X-API-KEY" = "configured" }\nauth = { module = "${module}", export = "sign" }`)}\n[[resources]]\nname = "items"\n`,
    );
    expect(result.error).toBeUndefined();
    expect(server.requests[0]!.headers.get("x-api-key")).toBe("from-hook-GET");
    expect(result.redactor.redact("echo from-hook-GET")).toBe("echo ***");
  });
});

describe("auth hook: refused", () => {
  test("a 401 to signed requests says the hook's headers were refused, naming its module, and is not retried", async () => {
    const server = startServer(() => json({ message: "bad signature" }, { status: 401 }));
    servers.push(server);
    const module = join(tempDir(), "hook.ts");
    writeFileSync(module, 'export function sign() { return { "x-signature": "sig-0123456789abcdef" }; }\n');
    const result = await extract(
      `${pipelineHead(server.url, `auth = { module = "${module}", export = "sign" }`)}\n[[resources]]\nname = "items"\n`,
    );
    expect(result.error).toMatchObject({ code: "E_HTTP" });
    expect((result.error as RestloadError).hint).toBe(
      `The API refused the headers of the auth hook: check the function "sign" of ${module} (the key it signs with, what it signs, the clock).`,
    );
    expect(server.requests).toHaveLength(1);
  });

  test("a 401 without any auth says to set one", async () => {
    const server = startServer(() => json({ message: "who are you" }, { status: 401 }));
    servers.push(server);
    const result = await extract(`${pipelineHead(server.url)}\n[[resources]]\nname = "items"\n`);
    expect((result.error as RestloadError).hint).toBe("The API wants credentials: set client.auth (or the endpoint's auth).");
  });
});

describe("auth hook: masking", () => {
  test("a header value the hook returned is masked when the API echoes it in an error", async () => {
    const server = startServer((request) => json({ message: `bad signature ${request.headers.get("x-signature")}` }, { status: 400 }));
    servers.push(server);
    const module = join(tempDir(), "hook.ts");
    writeFileSync(module, 'export function sign() { return { "x-signature": "sig-" + crypto.randomUUID(), "x-v": "2" }; }\n');
    const result = await extract(
      `${pipelineHead(server.url, `auth = { module = "${module}", export = "sign" }`)}\n[[resources]]\nname = "items"\n`,
    );
    const signature = server.requests[0]!.headers.get("x-signature")!;
    expect(result.error!.message).toContain("bad signature ***");
    expect(result.error!.message).not.toContain(signature);
    // A short value is no credential: masking it would blank "2" out of every message.
    expect(result.redactor.redact("version 2")).toBe("version 2");
  });

  test("per-request values stay masked only while recent; a value sent with every request stays masked", () => {
    const redactor = new Redactor();
    redactor.addRecent("static-credential-value");
    for (let i = 0; i < 500; i++) {
      redactor.addRecent(`signature-${i}-abcdef`);
      redactor.addRecent("static-credential-value");
    }
    expect(redactor.redact("signature-0-abcdef signature-499-abcdef static-credential-value")).toBe("signature-0-abcdef *** ***");
  });

  test("a per-request value that overlaps a secret is masked whole, in every encoded form", () => {
    const redactor = new Redactor(["secret-part-1234"]);
    redactor.addRecent("1234-and/signature+tail");
    expect(redactor.redact("x secret-part-1234-and/signature+tail y")).toBe("x *** y");
    expect(redactor.redact(`a ${encodeURIComponent("1234-and/signature+tail")} b`)).toBe("a *** b");
    expect(redactor.redact(`a ${Buffer.from("1234-and/signature+tail").toString("base64")} b`)).toBe("a *** b");
  });
});
