// One suite every auth type passes, against a local server that checks the credentials it receives.
import { describe, expect, test } from "bun:test";
import { RestloadError } from "../../src/errors.ts";
import { AccessTokenCache, renewalMarginMs } from "../../src/extract/http/auth/token-cache.ts";
import { fakeClock } from "./_fake-clock.ts";
import { json, startServer, type LoggedRequest, serversStoppedAfterAll } from "../servers/server.ts";
import { extract, pipelineHead } from "./_helpers.ts";
import { linkedPage, project, testHead } from "../run/_helpers.ts";

const secret = "s3cr3t+/=&value";
const servers = serversStoppedAfterAll();

interface AuthCase {
  auth: string;
  accepts: (request: LoggedRequest) => boolean;
}

const cases: Record<string, AuthCase> = {
  bearer: {
    auth: 'auth = { type = "bearer", token = { secret = "key" } }',
    accepts: (r) => r.headers.get("authorization") === `Bearer ${secret}`,
  },
  "bearer shorthand { token }": {
    auth: 'auth = { token = { secret = "key" } }',
    accepts: (r) => r.headers.get("authorization") === `Bearer ${secret}`,
  },
  "api_key in the default Authorization header": {
    auth: 'auth = { type = "api_key", api_key = { secret = "key" } }',
    accepts: (r) => r.headers.get("authorization") === secret,
  },
  "api_key in a named header": {
    auth: 'auth = { type = "api_key", name = "X-Api-Key", api_key = { secret = "key" } }',
    accepts: (r) => r.headers.get("x-api-key") === secret,
  },
  "api_key in the query": {
    auth: 'auth = { type = "api_key", name = "key", api_key = { secret = "key" }, location = "query" }',
    accepts: (r) => r.url.searchParams.get("key") === secret,
  },
  "api_key in a cookie": {
    auth: 'auth = { type = "api_key", name = "sid", api_key = { secret = "key" }, location = "cookie" }',
    accepts: (r) => r.headers.get("cookie") === `sid=${encodeURIComponent(secret)}`,
  },
  http_basic: {
    auth: 'auth = { type = "http_basic", username = "robot", password = { secret = "key" } }',
    accepts: (r) => r.headers.get("authorization") === `Basic ${Buffer.from(`robot:${secret}`).toString("base64")}`,
  },
};

describe("auth contract", () => {
  for (const [name, c] of Object.entries(cases)) {
    test(`${name}: the server gets the credentials on every page`, async () => {
      const server = startServer((request, i) =>
        c.accepts(request)
          ? json([{ page: i }], { headers: i === 0 ? { link: `<${request.url.origin}/items?page=2>; rel="next"` } : {} })
          : json({ message: "denied" }, { status: 401 }),
      );
      servers.push(server);
      const result = await extract(`${pipelineHead(server.url, c.auth)}\n[[resources]]\nname = "items"\n`, { secrets: { key: secret } });
      expect(result.error).toBeUndefined();
      expect(result.records.items).toEqual([{ page: 0 }, { page: 1 }]);
    });

    test(`${name}: wrong credentials fail with a 401 naming the secret, never retried`, async () => {
      const server = startServer(() => json({ message: "denied" }, { status: 401 }));
      servers.push(server);
      const result = await extract(`${pipelineHead(server.url, c.auth)}\n[[resources]]\nname = "items"\n`, { secrets: { key: "wrong" } });
      expect(server.requests).toHaveLength(1);
      expect((result.error as RestloadError).hint).toBe('Check the secret "key".');
    });
  }

  test("an endpoint's own auth replaces the client's", async () => {
    const server = startServer((r) => (r.headers.get("x-other") === secret ? json([{ ok: true }]) : json({}, { status: 401 })));
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url, cases.bearer!.auth)}\n[[resources]]\nname = "items"\nendpoint.auth = { type = "api_key", name = "X-Other", api_key = { secret = "key" } }\n`,
      { secrets: { key: secret } },
    );
    expect(result.records.items).toEqual([{ ok: true }]);
    expect(server.requests[0]!.headers.get("authorization")).toBeNull();
  });
});

describe("oauth2_client_credentials", () => {
  function oauthServer(options: { revokeFirstToken?: boolean; expiresIn?: number } = {}) {
    let issued = 0;
    const server = startServer((request) => {
      if (request.url.pathname === "/token") {
        const basic = Buffer.from(`${encodeURIComponent("client-1")}:${encodeURIComponent(secret)}`).toString("base64");
        const form = new URLSearchParams(request.body);
        if (
          request.headers.get("authorization") !== `Basic ${basic}` ||
          form.get("grant_type") !== "client_credentials" ||
          form.get("audience") !== "api"
        ) {
          return json({ error: "invalid_client" }, { status: 401 });
        }
        issued++;
        return json({ access_token: `token-${issued}-${secret}`, expires_in: options.expiresIn ?? 3600 });
      }
      const token = request.headers.get("authorization")?.replace("Bearer ", "");
      if (!token?.startsWith("token-") || (options.revokeFirstToken && token.startsWith("token-1-")))
        return json({ message: `token ${token} rejected` }, { status: 401 });
      const page = Number(request.url.searchParams.get("page") ?? 1);
      return json([{ page, token: token.split("-")[1] }], {
        headers: page < 3 ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : {},
      });
    });
    servers.push(server);
    const auth = `auth = { type = "oauth2_client_credentials", access_token_url = "${server.origin}/token", client_id = "client-1", client_secret = { secret = "key" }, access_token_request_data = { audience = "api" } }`;
    return { server, toml: `${pipelineHead(server.url, auth)}\n[[resources]]\nname = "items"\n` };
  }

  test("a token is fetched once and reused for every page", async () => {
    const { server, toml } = oauthServer();
    const result = await extract(toml, { secrets: { key: secret } });
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([
      { page: 1, token: "1" },
      { page: 2, token: "1" },
      { page: 3, token: "1" },
    ]);
    expect(server.requests.filter((r) => r.url.pathname === "/token")).toHaveLength(1);
  });

  test("a token is refreshed before it expires", async () => {
    const clock = fakeClock();
    const { server, toml } = oauthServer({ expiresIn: 600 });
    // Ten minutes pass between pages: the token is renewed before page 2.
    const original = server.requests.push.bind(server.requests);
    server.requests.push = (...items) => {
      clock.advance(600_000);
      return original(...items);
    };
    const result = await extract(toml, { secrets: { key: secret }, clock });
    expect(result.error).toBeUndefined();
    expect((result.records.items as { token: string }[]).map((record) => record.token)).toEqual(["1", "2", "3"]);
  });

  test("a 401 gets one fresh token and one retry", async () => {
    const { server, toml } = oauthServer({ revokeFirstToken: true });
    const result = await extract(toml, { secrets: { key: secret } });
    expect(result.error).toBeUndefined();
    expect((result.records.items as { token: string }[]).map((record) => record.token)).toEqual(["2", "2", "2"]);
    expect(server.requests.filter((r) => r.url.pathname === "/token")).toHaveLength(2);
  });

  test("wrong client credentials fail at the token request, and the fetched token is redacted", async () => {
    const { toml } = oauthServer();
    const result = await extract(toml, { secrets: { key: "wrong" } });
    expect(result.error!.message).toContain('resource "(oauth2 token)" as the server returned 401');
    expect((result.error as RestloadError).hint).toBe(
      'The token endpoint refused the client credentials: check client_id in the pipeline file and the secret "key" (client_secret), and access_token_url.',
    );
    const ok = await extract(oauthServer().toml, { secrets: { key: secret } });
    expect(ok.redactor.redact(`leaked token-1-${secret}`)).toBe("leaked ***");
  });

  test("a 2 s token is replaced before it expires, not after a 401", async () => {
    const expiry = new Map<string, number>();
    const seen = { expired: 0, unauthorized: 0, tokens: 0 };
    const rows = Array.from({ length: 8 }, (_, id) => ({ id }));
    const server = startServer(async (request) => {
      if (request.url.pathname === "/token") {
        seen.tokens++;
        const token = `cc-${crypto.randomUUID()}`;
        expiry.set(token, Date.now() + 2000);
        return json({ access_token: token, expires_in: 2 });
      }
      const expiresAt = expiry.get(request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "");
      if (expiresAt === undefined || Date.now() >= expiresAt) {
        if (expiresAt !== undefined) seen.expired++;
        seen.unauthorized++;
        return json({ message: "expired" }, { status: 401 });
      }
      await Bun.sleep(400);
      return linkedPage(request, rows, 1);
    });
    servers.push(server);
    const p = project(
      `${testHead(`${server.origin}/`)}auth = { type = "oauth2_client_credentials", access_token_url = "${server.origin}/token", client_id = "c", client_secret = { secret = "client_secret" } }\n[[resources]]\nname = "items"\nendpoint.path = "items"\n`,
    );
    const ran = await p.run([], { RESTLOAD_SECRET_CLIENT_SECRET: secret });
    expect(ran.code).toBe(0);
    expect(await p.query("select count(*)::int as n from data.items")).toEqual([{ n: 8 }]);
    expect(seen.unauthorized).toBe(0);
    expect(seen.expired).toBe(0);
    expect(seen.tokens).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe("access token cache", () => {
  /** A cache whose fetches the test answers: `fetches[i].answer(value)`. */
  function controlledCache(options: { begin?: boolean } = {}) {
    let time = 0;
    const fetches: { begun: boolean | undefined; answer: (value: string) => void }[] = [];
    const cache = new AccessTokenCache(
      (begin) =>
        new Promise((resolve) => {
          const fetch = {
            begun: options.begin ? begin() : undefined,
            answer: (value: string) => resolve({ value, lifetimeMs: 3_600_000 }),
          };
          fetches.push(fetch);
        }),
      () => time,
    );
    return { cache, fetches, advance: (ms: number) => void (time += ms) };
  }

  test("the renewal margin is a tenth of the life, at least a second, at most half the life and a minute", () => {
    expect([1_000, 2_000, 5_000, 20_000, 300_000, 3_600_000].map(renewalMarginMs)).toEqual([500, 1_000, 1_000, 2_000, 30_000, 60_000]);
  });

  test("a 401 for a token already replaced leaves the fresh one cached", async () => {
    const { cache, fetches } = controlledCache();
    const first = cache.current();
    await Bun.sleep(0);
    fetches[0]!.answer("token-1");
    expect(await first).toBe("token-1");
    cache.invalidate("token-1");
    const second = cache.current();
    await Bun.sleep(0);
    fetches[1]!.answer("token-2");
    expect(await second).toBe("token-2");
    // A request sent with token-1 before the renewal gets its 401 late.
    cache.invalidate("token-1");
    expect(await cache.current()).toBe("token-2");
    expect(fetches).toHaveLength(2);
    cache.invalidate("token-2");
    void cache.current();
    await Bun.sleep(0);
    expect(fetches).toHaveLength(3);
  });

  test("a stopped request stops waiting before the fetch begins, and nothing is begun for no one", async () => {
    let asked: boolean | undefined;
    let unblock = () => {};
    const blocked = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const cache = new AccessTokenCache(
      async (begin) => {
        // Waiting for the token lock, say, when the request is stopped.
        await blocked;
        asked = begin();
        return { value: "token-1", lifetimeMs: 60_000 };
      },
      () => 0,
    );
    const stop = new AbortController();
    const waiting = cache.current(stop.signal);
    stop.abort(new Error("stopped"));
    await expect(waiting).rejects.toThrow("stopped");
    unblock();
    await Bun.sleep(0);
    expect(asked).toBe(false);
  });

  test("once the fetch has begun, a stopped request waits for its answer (a rotated refresh token is kept before the process ends)", async () => {
    const { cache, fetches } = controlledCache({ begin: true });
    const stop = new AbortController();
    const waiting = cache.current(stop.signal);
    await Bun.sleep(0);
    expect(fetches[0]!.begun).toBe(true);
    stop.abort(new Error("stopped"));
    let settled = false;
    void waiting.finally(() => {
      settled = true;
    });
    await Bun.sleep(10);
    expect(settled).toBe(false);
    fetches[0]!.answer("token-1");
    expect(await waiting).toBe("token-1");
  });
});
