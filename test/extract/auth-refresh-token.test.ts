// oauth2_refresh_token end to end: access tokens renewed before they expire, refresh tokens the
// endpoint rotates kept beside the database for the next run, the fallback to the configured one.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { leakForms, type Ran, restload, runMain } from "../helpers.ts";
import { linkedPage, project, type Project, testHead } from "../run/_helpers.ts";
import { hostname } from "node:os";
import type { RestloadError } from "../../src/errors.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const clientId = "client-7";
const clientSecret = "cs-9f2d7e1b4a6c8e0f";
const random = () => crypto.randomUUID().replaceAll("-", "");

interface TokenApiOptions {
  /** The refresh tokens the endpoint accepts at first (each once: it rotates on every use). */
  readonly valid: readonly string[];
  readonly pages?: number;
  readonly pageDelayMs?: number;
  /** Seconds an access token lives. */
  readonly expiresIn?: number;
  readonly rotate?: boolean;
  readonly clientAuth?: "body" | "basic";
  /** How long the endpoint takes over a grant, before it looks at the refresh token. */
  readonly tokenDelayMs?: number;
  /** How the endpoint answers a grant it accepted (and rotated): as it should, or failing after it spent the token. */
  readonly answer?: "ok" | "503" | "no access_token";
}

/**
 * A token endpoint (`/oauth/token`, the refresh-token grant) and an API (`/items`) on one server.
 * The API answers 401 to an unknown or expired access token and counts it.
 */
function tokenApi(options: TokenApiOptions) {
  const rows = Array.from({ length: options.pages ?? 1 }, (_, id) => ({ id }));
  const state = {
    valid: new Set(options.valid),
    /** The refresh token of every grant, in order. */
    presented: [] as string[],
    issuedRefresh: [] as string[],
    issuedAccess: [] as string[],
    expiry: new Map<string, number>(),
    expiredUses: 0,
    unauthorized: 0,
    /** Grants refused as invalid_grant. */
    refusedGrants: 0,
  };
  const server = startServer(async (request) => {
    if (request.url.pathname === "/oauth/token") {
      const form = new URLSearchParams(request.body);
      const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
      const clientOk =
        options.clientAuth === "basic"
          ? request.headers.get("authorization") === basic && !form.has("client_secret") && !form.has("client_id")
          : form.get("client_id") === clientId && form.get("client_secret") === clientSecret && !request.headers.has("authorization");
      if (!clientOk || form.get("grant_type") !== "refresh_token") return json({ error: "invalid_client" }, { status: 401 });
      const presented = form.get("refresh_token") ?? "";
      state.presented.push(presented);
      if (options.tokenDelayMs) await Bun.sleep(options.tokenDelayMs);
      if (!state.valid.has(presented)) {
        state.refusedGrants++;
        return json({ error: "invalid_grant", error_description: "Token has been expired or revoked." }, { status: 400 });
      }
      const access = `at-${random()}`;
      state.issuedAccess.push(access);
      state.expiry.set(access, Date.now() + (options.expiresIn ?? 2) * 1000);
      const body: Record<string, unknown> = { access_token: access, token_type: "Bearer", expires_in: options.expiresIn ?? 2 };
      if (options.rotate ?? true) {
        state.valid.delete(presented);
        const next = `rt-${random()}`;
        state.valid.add(next);
        state.issuedRefresh.push(next);
        body.refresh_token = next;
      }
      if (options.answer === "503") return json({ error: "temporarily_unavailable" }, { status: 503 });
      if (options.answer === "no access_token") delete body.access_token;
      return json(body);
    }
    const token = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    const expiresAt = state.expiry.get(token);
    if (expiresAt === undefined || Date.now() >= expiresAt) {
      if (expiresAt !== undefined) state.expiredUses++;
      state.unauthorized++;
      return json({ message: "invalid or expired access token" }, { status: 401 });
    }
    if (options.pageDelayMs) await Bun.sleep(options.pageDelayMs);
    if (request.url.pathname.startsWith("/details/")) return json({ detail: Number(request.url.pathname.split("/").pop()) });
    return linkedPage(request, rows, 1);
  });
  servers.push(server);
  const tokenRequests = () => server.requests.filter((r) => r.url.pathname === "/oauth/token").length;
  return { server, state, tokenRequests };
}

function refreshAuth(origin: string, extra = ""): string {
  return `auth = { type = "oauth2_refresh_token", access_token_url = "${origin}/oauth/token", client_id = "${clientId}", client_secret = { secret = "client_secret" }, refresh_token = { secret = "refresh_token" }${extra} }`;
}

function refreshProject(server: TestServer): Project {
  return project(`${testHead(`${server.origin}/`)}${refreshAuth(server.origin)}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`);
}

const secretsEnv = (refreshToken: string) => ({ RESTLOAD_SECRET_CLIENT_SECRET: clientSecret, RESTLOAD_SECRET_REFRESH_TOKEN: refreshToken });

/** The files of a project's tokens folder (kept tokens, and anything left beside them). */
function keptFiles(p: Project): string[] {
  const dir = `${p.database}.tokens`;
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

/** The refresh token kept in a project's (one) kept-token file. */
function keptToken(p: Project): string {
  const files = keptFiles(p);
  expect(files.map((file) => basename(file))).toEqual([expect.stringMatching(/^[0-9a-f]{16}\.json$/)]);
  return JSON.parse(readFileSync(files[0]!, "utf8")).refresh_token;
}

/** No refresh token was sent twice, and none was refused. */
function expectEachTokenSentOnce(api: ReturnType<typeof tokenApi>): void {
  expect(new Set(api.state.presented).size).toBe(api.state.presented.length);
  expect(api.state.refusedGrants).toBe(0);
}

/** Every row of every table of the database, as text. */
async function databaseText(p: Project): Promise<string> {
  const tables = await p.query("select table_schema, table_name from information_schema.tables order by all");
  expect(tables.length).toBeGreaterThan(2);
  const parts: string[] = [];
  for (const table of tables)
    parts.push(JSON.stringify(await p.query(`select * from "${String(table.table_schema)}"."${String(table.table_name)}"`)));
  return parts.join("\n");
}

describe("oauth2_refresh_token", () => {
  test("a 3 s run renews its 2 s access token before it expires, the next run uses the rotated refresh token, and no token leaks", async () => {
    const configured = `rt-configured-${random()}`;
    const api = tokenApi({ valid: [configured], pages: 8, pageDelayMs: 400 });
    const p = refreshProject(api.server);

    const started = Date.now();
    const first = await p.run(["--log-level", "debug"], secretsEnv(configured));
    const seconds = (Date.now() - started) / 1000;
    expect(first.code).toBe(0);
    expect(seconds).toBeGreaterThan(3);
    // A new access token before the first expired (a 2 s token is renewed 1 s early), and not a 401 on the way.
    expect(api.tokenRequests()).toBeGreaterThanOrEqual(2);
    expect(api.state.expiredUses).toBe(0);
    expect(api.state.unauthorized).toBe(0);
    expect(await p.query("select count(*)::int as n from data.items")).toEqual([{ n: 8 }]);
    console.log(`first run: ${seconds.toFixed(1)} s, ${api.tokenRequests()} token requests, no 401`);

    // The last rotated refresh token is kept, in a file only its owner can read.
    const files = keptFiles(p);
    expect(files).toHaveLength(1);
    expect(statSync(files[0]!).mode & 0o777).toBe(0o600);
    expect(statSync(`${p.database}.tokens`).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(files[0]!, "utf8")).refresh_token).toBe(api.state.issuedRefresh.at(-1));

    // The configured refresh token is spent (the endpoint accepts each once): the kept one carries the next run.
    expect(api.state.valid.has(configured)).toBe(false);
    const before = api.tokenRequests();
    const second = await p.run(["--log-level", "debug"], secretsEnv(configured));
    expect(second.code).toBe(0);
    expect(api.state.presented[before]).toBe(api.state.issuedRefresh[before - 1]);
    expect(api.state.presented.filter((token) => token === configured)).toHaveLength(1);
    expect(`${second.stdout}${second.stderr}`).not.toContain("warn");
    expect(JSON.parse(readFileSync(files[0]!, "utf8")).refresh_token).toBe(api.state.issuedRefresh.at(-1));

    // No token and no client secret in any output, the status file or the database.
    const statusFile = `${p.database}.data.status.json`;
    expect(existsSync(statusFile)).toBe(true);
    const texts = [output(first), output(second), readFileSync(statusFile, "utf8"), await databaseText(p)];
    const secrets = [clientSecret, configured, ...api.state.issuedRefresh, ...api.state.issuedAccess];
    for (const text of texts) for (const secret of secrets) for (const form of leakForms(secret)) expect(text).not.toContain(form);
  }, 60_000);

  test("a kept refresh token the endpoint refuses falls back once to the configured one, with a warning", async () => {
    const configured = `rt-configured-${random()}`;
    const api = tokenApi({ valid: [configured] });
    const p = refreshProject(api.server);
    expect((await p.run([], secretsEnv(configured))).code).toBe(0);
    const kept = api.state.issuedRefresh.at(-1)!;
    // The kept token is revoked; the configured one is valid again (issued anew by the provider).
    api.state.valid.delete(kept);
    api.state.valid.add(configured);

    const second = await p.run([], secretsEnv(configured));
    expect(second.code).toBe(0);
    expect(api.state.presented.slice(-2)).toEqual([kept, configured]);
    expect(second.stderr).toContain("refused the refresh token kept from an earlier rotation");
    expect(second.stderr).toContain('trying the configured refresh token (secret "refresh_token") once');
    expect(second.stderr).toContain(`(${keptFiles(p)[0]})`);
    for (const secret of [kept, configured, clientSecret, ...api.state.issuedAccess, ...api.state.issuedRefresh])
      expect(output(second)).not.toContain(secret);
    // The new rotation is kept again.
    expect(JSON.parse(readFileSync(keptFiles(p)[0]!, "utf8")).refresh_token).toBe(api.state.issuedRefresh.at(-1));
  }, 60_000);

  test("when the kept and the configured refresh tokens are both refused, the run fails with E_AUTH naming the token URL", async () => {
    const configured = `rt-configured-${random()}`;
    const api = tokenApi({ valid: [configured] });
    const p = refreshProject(api.server);
    expect((await p.run([], secretsEnv(configured))).code).toBe(0);
    api.state.valid.clear();

    const failed = await p.run(["--json"], secretsEnv(configured));
    expect(failed.code).toBe(1);
    const error = JSON.parse(failed.stdout).units[0].error;
    expect(error.code).toBe("E_AUTH");
    expect(error.message).toBe(
      `Cannot refresh the access token at ${api.server.origin}/oauth/token as the token endpoint refused the kept and the configured refresh tokens (400: expired, revoked or already used)`,
    );
    expect(error.hint).toContain('put it in the secret "refresh_token"');
    expect(api.state.presented.slice(-2)).toEqual([api.state.issuedRefresh.at(-1)!, configured]);
    expect(failed.stderr).toContain("refused the refresh token kept from an earlier rotation");
    for (const secret of [configured, clientSecret, ...api.state.issuedRefresh, ...api.state.issuedAccess])
      expect(output(failed)).not.toContain(secret);
  }, 60_000);

  test("a configured refresh token that was never valid fails with E_AUTH saying to update the secret", async () => {
    const api = tokenApi({ valid: [] });
    const result = await extract(
      `${pipelineHead(`${api.server.origin}/`, refreshAuth(api.server.origin))}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`,
      { secrets: { client_secret: clientSecret, refresh_token: "rt-stale" } },
    );
    expect(result.error).toMatchObject({ code: "E_AUTH" });
    expect(result.error!.message).toContain("refused the configured refresh token (400");
    expect(api.tokenRequests()).toBe(1);
  });

  test("a new configured refresh token (authorized again) is used instead of the one kept for the old", async () => {
    const old = `rt-old-${random()}`;
    const fresh = `rt-new-${random()}`;
    const api = tokenApi({ valid: [old, fresh] });
    const p = refreshProject(api.server);
    expect((await p.run([], secretsEnv(old))).code).toBe(0);
    const second = await p.run([], secretsEnv(fresh));
    expect(second.code).toBe(0);
    expect(api.state.presented).toEqual([old, fresh]);
    expect(second.stderr).not.toContain("warn");
  }, 60_000);

  test("resources given a copy of one auth by resource_defaults share its token, so a rotation does not strand the second", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], expiresIn: 3600 });
    const auth = refreshAuth(api.server.origin).replace(/^auth = /, "");
    const p = project(
      `${testHead(`${api.server.origin}/`)}[resource_defaults]\nendpoint.auth = ${auth}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n[[resources]]\nname = "more"\nendpoint.path = "items"\n`,
    );
    const ran = await p.run([], secretsEnv(configured));
    expect(ran.code).toBe(0);
    expect(api.state.presented).toEqual([configured]);
    expect(await p.query("select (select count(*) from data.items)::int as a, (select count(*) from data.more)::int as b")).toEqual([
      { a: 1, b: 1 },
    ]);
  }, 60_000);

  test("restload extract and check --probe keep the rotated refresh token too", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], expiresIn: 3600 });
    const p = refreshProject(api.server);
    const extracted = await runMain(["extract", p.pipeline], secretsEnv(configured));
    expect(extracted.code).toBe(0);
    const probed = await runMain(["check", p.pipeline, "--probe"], secretsEnv(configured));
    expect(probed.code).toBe(0);
    expect(api.state.presented).toEqual([configured, api.state.issuedRefresh[0]!]);
    expect(JSON.parse(readFileSync(keptFiles(p)[0]!, "utf8")).refresh_token).toBe(api.state.issuedRefresh[1]);
    for (const secret of [configured, clientSecret, ...api.state.issuedRefresh, ...api.state.issuedAccess])
      expect(`${output(extracted)}${output(probed)}`).not.toContain(secret);
  }, 60_000);

  test("an endpoint that does not rotate leaves no file; the client credentials can go in a Basic header", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], rotate: false, clientAuth: "basic", pages: 2, expiresIn: 3600 });
    const p = project(
      `${testHead(`${api.server.origin}/`)}${refreshAuth(api.server.origin, ', client_auth = "basic"')}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`,
    );
    const ran = await p.run([], secretsEnv(configured));
    expect(ran.code).toBe(0);
    expect(api.state.presented).toEqual([configured]);
    expect(api.state.unauthorized).toBe(0);
    // The folder holds the grant's lock while it runs, and nothing once it is over.
    expect(keptFiles(p)).toEqual([]);
  }, 60_000);
});

describe("oauth2_refresh_token: one refresh token, many users", () => {
  test("two processes started together spend the refresh token one after the other, and both succeed", async () => {
    const configured = `rt-${random()}`;
    // A slow endpoint: without a lock both processes would send the configured token before either is answered.
    const api = tokenApi({ valid: [configured], expiresIn: 3600, tokenDelayMs: 500 });
    const p = refreshProject(api.server);
    const env = { ...process.env, ...secretsEnv(configured) };
    const [a, b] = await Promise.all([restload(["extract", p.pipeline], { env }), restload(["extract", p.pipeline], { env })]);
    expect([a.code, b.code]).toEqual([0, 0]);
    for (const ran of [a, b]) expect(ran.stderr).toStartWith("items: 1 record in 1 page\n");
    expect(api.state.presented).toEqual([configured, api.state.issuedRefresh[0]!]);
    expectEachTokenSentOnce(api);
    // The lock is gone; the newest token is kept.
    expect(keptToken(p)).toBe(api.state.issuedRefresh[1]!);
  }, 60_000);

  test("a long run uses the refresh token a check --probe rotated to while it ran", async () => {
    const configured = `rt-${random()}`;
    // 3 s access tokens over a 4 s run: the run's second grant comes 2 s after its first.
    const api = tokenApi({ valid: [configured], pages: 8, pageDelayMs: 500, expiresIn: 3 });
    const p = refreshProject(api.server);
    const env = { ...process.env, ...secretsEnv(configured) };
    const running = restload(["run", p.pipeline], { env });
    while (api.state.presented.length === 0) await Bun.sleep(20);
    const probed = await restload(["check", p.pipeline, "--probe"], { env });
    const ran = await running;
    expect([ran.code, probed.code]).toEqual([0, 0]);
    expect(api.state.presented.length).toBeGreaterThanOrEqual(3);
    // Every grant sent the token the one before it got, whichever process made it.
    expect(api.state.presented).toEqual([configured, ...api.state.issuedRefresh.slice(0, -1)]);
    expectEachTokenSentOnce(api);
    expect(api.state.expiredUses).toBe(0);
  }, 60_000);

  test("pipelines of one client loading one database share the kept token", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], expiresIn: 3600 });
    const p = refreshProject(api.server);
    expect((await p.run([], secretsEnv(configured))).code).toBe(0);
    const other = join(p.dir, "other.toml");
    writeFileSync(
      other,
      `[pipeline]\nname = "other"\ndataset = "other"\ndatabase = "${basename(p.database)}"\n[client]\nbase_url = "${api.server.origin}/"\n${refreshAuth(api.server.origin)}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`,
    );
    const second = await runMain(["run", other], secretsEnv(configured));
    expect(second.code).toBe(0);
    expect(api.state.presented).toEqual([configured, api.state.issuedRefresh[0]!]);
    expect(keptToken(p)).toBe(api.state.issuedRefresh[1]!);
  }, 60_000);

  test("two auth tables of one client with different scopes share its refresh token while both renew their access tokens", async () => {
    const configured = `rt-${random()}`;
    // Parent pages and child requests alternate for over 3 s: each auth renews its 2 s access token at least once.
    const api = tokenApi({ valid: [configured], pages: 8, pageDelayMs: 400 });
    const scoped = (scope: string) =>
      refreshAuth(api.server.origin, `, access_token_request_data = { scope = "${scope}" }`).replace(/^auth = /, "");
    const p = project(
      `${testHead(`${api.server.origin}/`)}auth = ${scoped("items")}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n[[resources]]\nname = "details"\nendpoint.path = "details/{resources.items.id}"\nendpoint.paginator = "single_page"\nendpoint.auth = ${scoped("details")}\n`,
    );
    const ran = await p.run([], secretsEnv(configured));
    expect(ran.code).toBe(0);
    expect(await p.query("select count(*)::int as n from data.details")).toEqual([{ n: 8 }]);
    const scopes = api.server.requests
      .filter((r) => r.url.pathname === "/oauth/token")
      .map((r) => new URLSearchParams(r.body).get("scope"));
    expect(new Set(scopes)).toEqual(new Set(["items", "details"]));
    expect(scopes.filter((scope) => scope === "items").length).toBeGreaterThanOrEqual(2);
    expect(scopes.filter((scope) => scope === "details").length).toBeGreaterThanOrEqual(2);
    expect(api.state.presented).toEqual([configured, ...api.state.issuedRefresh.slice(0, -1)]);
    expectEachTokenSentOnce(api);
    expect(api.state.unauthorized).toBe(0);
  }, 60_000);
});

describe("oauth2_refresh_token: a grant is never lost nor sent twice", () => {
  test("a grant answered with a 503 is not sent again: the endpoint may have spent the token", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], answer: "503" });
    const result = await extract(
      `${pipelineHead(`${api.server.origin}/`, refreshAuth(api.server.origin))}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`,
      { secrets: { client_secret: clientSecret, refresh_token: configured } },
    );
    expect(api.tokenRequests()).toBe(1);
    expect(result.error).toMatchObject({ code: "E_HTTP" });
    expect(result.error!.message).toStartWith(
      'Cannot fetch the access token of resource "(oauth2 token)" as the server returned 503, and it is not sent twice: POST',
    );
    expect((result.error as RestloadError).hint).toContain('authorize again and put the new one in the secret "refresh_token"');
  });

  test("a grant whose connection is refused (nothing sent) is tried again", async () => {
    const closed = startServer(() => json({}));
    await closed.stop();
    const api = tokenApi({ valid: [] });
    const result = await extract(
      `${pipelineHead(`${api.server.origin}/`, refreshAuth(closed.origin))}\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`,
      { secrets: { client_secret: clientSecret, refresh_token: "rt-unused" } },
    );
    expect(result.error).toMatchObject({ code: "E_HTTP" });
    expect(result.error!.message).toContain("after 5 attempts: the connection failed");
    expect(result.retries).toHaveLength(4);
  });

  test("a rotated refresh token is kept even when the answer lacks its access token", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], answer: "no access_token" });
    const p = refreshProject(api.server);
    const failed = await p.run(["--json"], secretsEnv(configured));
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).units[0].error.message).toBe(
      `Cannot use the token response of ${api.server.origin}/oauth/token as it has no access_token`,
    );
    expect(keptToken(p)).toBe(api.state.issuedRefresh[0]!);
  }, 60_000);

  test("the newest token a killed process wrote but did not rename yet replaces the older kept one", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], expiresIn: 3600 });
    const p = refreshProject(api.server);
    expect((await p.run([], secretsEnv(configured))).code).toBe(0);
    const [file] = keptFiles(p);
    // As if a later process rotated again, flushed the temp file and was killed before the rename.
    const newer = `rt-${random()}`;
    api.state.valid.delete(api.state.issuedRefresh[0]!);
    api.state.valid.add(newer);
    const stored = JSON.parse(readFileSync(file!, "utf8"));
    writeFileSync(`${file}.${deadPid()}.tmp`, JSON.stringify({ ...stored, refresh_token: newer, updated_at: new Date().toISOString() }), {
      mode: 0o600,
    });
    const second = await p.run([], secretsEnv(configured));
    expect(second.code).toBe(0);
    expect(api.state.presented.at(-1)).toBe(newer);
    expectEachTokenSentOnce(api);
    expect(keptToken(p)).toBe(api.state.issuedRefresh.at(-1)!);
  }, 60_000);

  test("a lock a dead process left is taken over; one a live process holds is waited for", async () => {
    const configured = `rt-${random()}`;
    const api = tokenApi({ valid: [configured], expiresIn: 3600 });
    const p = refreshProject(api.server);
    expect((await p.run([], secretsEnv(configured))).code).toBe(0);
    const lock = keptFiles(p)[0]!.replace(/\.json$/, ".lock");
    const holder = (pid: number) => JSON.stringify({ pid, host: hostname(), pipeline: "test", since: new Date().toISOString() });

    writeFileSync(lock, holder(deadPid()));
    expect((await p.run([], secretsEnv(configured))).code).toBe(0);
    expect(existsSync(lock)).toBe(false);

    const live = Bun.spawn(["sleep", "30"]);
    writeFileSync(lock, holder(live.pid));
    const started = Date.now();
    setTimeout(() => live.kill(), 600);
    const waited = await p.run([], secretsEnv(configured));
    expect(waited.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(api.state.presented).toEqual([configured, ...api.state.issuedRefresh.slice(0, -1)]);
    expectEachTokenSentOnce(api);
    expect(existsSync(lock)).toBe(false);
  }, 60_000);
});

// internal

function output(ran: Ran): string {
  return `${ran.stdout}${ran.stderr}`;
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const ended = Bun.spawnSync(["true"]);
  return ended.pid;
}
