// oauth2_refresh_token end to end: access tokens renewed before they expire, refresh tokens the
// endpoint rotates kept beside the database for the next run, the fallback to the configured one.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { leakForms, type Ran, runMain } from "../helpers.ts";
import { linkedPage, project, type Project, testHead } from "../run/_helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

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
      if (!state.valid.has(presented))
        return json({ error: "invalid_grant", error_description: "Token has been expired or revoked." }, { status: 400 });
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

/** The kept-token files of a project's database. */
function keptFiles(p: Project): string[] {
  const dir = `${p.database}.tokens`;
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
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
    // A new access token once the first had less than a tenth of its life left, and not a 401 on the way.
    expect(api.tokenRequests()).toBeGreaterThanOrEqual(2);
    expect(api.tokenRequests()).toBeLessThanOrEqual(3);
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
    expect(second.stderr).toContain(`${p.database}.tokens/test.`);
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
    expect(existsSync(`${p.database}.tokens`)).toBe(false);
  }, 60_000);
});

// internal

function output(ran: Ran): string {
  return `${ran.stdout}${ran.stderr}`;
}
