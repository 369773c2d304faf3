// Retries, rate limits, strict bodies and exact integers, against local servers; waits on a fake clock.
import { describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { RestloadError } from "../../src/errors.ts";
import { fakeClock } from "./_fake-clock.ts";
import { chunkedJson, cutOff, json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();
function serve(handler: Parameters<typeof startServer>[0]): TestServer {
  const server = startServer(handler);
  servers.push(server);
  return server;
}
const resource = (extra = "") => `\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n${extra}\n`;

describe("retries", () => {
  test("503 twice then 200 gives the full data, with backoff between attempts", async () => {
    const server = serve((_, i) => (i < 2 ? json({ error: "busy" }, { status: 503 }) : json([{ id: 1 }, { id: 2 }])));
    const result = await extract(pipelineHead(server.url) + resource());
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([{ id: 1 }, { id: 2 }]);
    expect(server.requests).toHaveLength(3);
    expect(result.retries.map((r) => r.reason)).toEqual(["the server returned 503", "the server returned 503"]);
    expect(result.clock.slept).toHaveLength(2);
    expect(result.clock.slept.every((ms) => ms > 0)).toBe(true);
  });

  test("429 with Retry-After: 2 waits at least 2 s", async () => {
    const server = serve((_, i) => (i === 0 ? json({}, { status: 429, headers: { "retry-after": "2" } }) : json([{ id: 1 }])));
    const result = await extract(pipelineHead(server.url) + resource());
    expect(result.records.items).toEqual([{ id: 1 }]);
    expect(result.clock.slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2000);
  });

  test("Retry-After as an HTTP date is honoured", async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const date = new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString();
    const server = serve((_, i) => (i === 0 ? json({}, { status: 503, headers: { "retry-after": date } }) : json([{ id: 1 }])));
    const result = await extract(pipelineHead(server.url) + resource(), { clock });
    expect(result.records.items).toEqual([{ id: 1 }]);
    expect(result.clock.slept[0]).toBeGreaterThanOrEqual(30_000);
  });

  test("Retry-After: 0 does not spin: attempts are bounded and backoff still applies (dlt#4036)", async () => {
    const server = serve(() => json({}, { status: 429, headers: { "retry-after": "0" } }));
    const result = await extract(pipelineHead(server.url, "max_attempts = 4") + resource());
    expect(result.error).toBeInstanceOf(RestloadError);
    expect(result.error!.message).toContain("after 4 attempts");
    expect(server.requests).toHaveLength(4);
    expect(result.clock.slept).toHaveLength(3);
    expect(result.clock.slept.every((ms) => ms >= 100)).toBe(true);
  });

  test("waits are capped at max_retry_delay", async () => {
    const server = serve((_, i) => (i === 0 ? json({}, { status: 429, headers: { "retry-after": "86400" } }) : json([])));
    const result = await extract(pipelineHead(server.url, "max_retry_delay = 5") + resource());
    expect(result.error).toBeUndefined();
    expect(result.clock.slept).toEqual([5000]);
  });

  test("a 401 is not retried and names the secret to check", async () => {
    const server = serve(() => json({ message: "Bad credentials" }, { status: 401 }));
    const result = await extract(pipelineHead(server.url, 'auth = { token = { secret = "github_token" } }') + resource(), {
      secrets: { github_token: "t0ken-value" },
    });
    expect(server.requests).toHaveLength(1);
    expect((result.error as RestloadError).code).toBe("E_HTTP");
    expect(result.error!.message).toContain('Cannot fetch page 1 of resource "items" as the server returned 401: GET http://127.0.0.1');
    expect(result.error!.message).toContain("Bad credentials");
    expect((result.error as RestloadError).hint).toBe('Check the secret "github_token".');
  });

  test("a 404 fails naming the resource, and suggests a response action", async () => {
    const server = serve(() => json({ message: "Not Found" }, { status: 404 }));
    const result = await extract(pipelineHead(server.url) + resource());
    expect(server.requests).toHaveLength(1);
    expect((result.error as RestloadError).hint).toContain("response_actions");
  });

  test("a body cut off mid-read is retried", async () => {
    const full = JSON.stringify([{ id: 1 }, { id: 2 }, { id: 3 }]);
    const server = serve((_, i) => (i === 0 ? cutOff(full, 10) : json(JSON.parse(full))));
    const result = await extract(pipelineHead(server.url) + resource());
    expect(result.error).toBeUndefined();
    expect(result.records.items).toHaveLength(3);
    expect(server.requests).toHaveLength(2);
    expect(result.retries[0]!.reason).toMatch(/cut off|connection failed/);
  });

  test("a response slower than the timeout is retried", async () => {
    const server = serve(async (_, i) => {
      if (i === 0) await Bun.sleep(1500);
      return json([{ id: 1 }]);
    });
    const result = await extract(pipelineHead(server.url, "timeout = 0.3") + resource());
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([{ id: 1 }]);
    expect(result.retries[0]!.reason).toBe("no complete response within 0.3 s");
  });

  test("connection refused is retried, then fails naming the request", async () => {
    const server = serve(() => json([]));
    const url = server.url;
    await server.stop();
    const result = await extract(pipelineHead(url, "max_attempts = 2") + resource());
    expect(result.error!.message).toContain("after 2 attempts: the connection failed");
    expect(result.error!.message).toContain(`GET ${url}items`);
  });

  // A raw socket server whose first connection fails as `firstFails` says; the second one answers.
  for (const [failure, firstFails] of [
    ["a connection the server resets", (socket: Socket) => socket.resetAndDestroy()],
    ["a garbled response (as a broken proxy sends)", (socket: Socket) => socket.end("this is not HTTP at all\r\n\r\n")],
  ] as const) {
    test(`${failure} is retried as a network failure, then the data comes`, async () => {
      let connections = 0;
      const server = createServer((socket) => {
        connections++;
        socket.once("data", () => {
          if (connections === 1) firstFails(socket);
          else socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\nconnection: close\r\n\r\n[{"id":1}]');
        });
      });
      await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
      try {
        const { port } = server.address() as AddressInfo;
        const result = await extract(pipelineHead(`http://127.0.0.1:${port}/`) + resource());
        expect(result.error).toBeUndefined();
        expect(result.records.items).toEqual([{ id: 1 }]);
        expect(connections).toBe(2);
        expect(result.retries.map((retry) => retry.reason)).toEqual([expect.stringContaining("the connection failed")]);
      } finally {
        server.close();
      }
    });
  }

  test("a failure that is not the network's is not retried and keeps its own message", async () => {
    // The token server hands out a token with a line break: the Authorization header built from
    // it is one the runtime refuses to send, which no further attempt would change.
    const server = serve((request) =>
      request.url.pathname === "/token" ? json({ access_token: "tok\nen", expires_in: 3600 }) : json([{ id: 1 }]),
    );
    const auth = `auth = { type = "oauth2_client_credentials", access_token_url = "${server.origin}/token", client_id = "client-1", client_secret = { secret = "key" } }`;
    const result = await extract(pipelineHead(server.url, auth) + resource(), { secrets: { key: "s3cret" } });
    const error = result.error as RestloadError;
    expect(error.code).toBe("E_INTERNAL");
    expect(error.context.resource).toBe("items");
    expect(error.message).not.toContain("the connection failed");
    expect(error.message).toMatch(/header/i);
    expect(result.retries).toEqual([]);
    expect(server.requests.map((request) => request.url.pathname)).toEqual(["/token"]);
  });
});

describe("bodies", () => {
  test("a 200 with an HTML maintenance page is an error, not an empty page", async () => {
    const server = serve(
      () => new Response("<html><body>Down for maintenance</body></html>", { headers: { "content-type": "text/html" } }),
    );
    const result = await extract(pipelineHead(server.url) + resource());
    expect((result.error as RestloadError).code).toBe("E_RESPONSE");
    expect(result.error!.message).toContain("the body is not JSON (text/html)");
    expect(result.error!.message).toContain("Down for maintenance");
    expect(result.records.items).toEqual([]);
  });

  test("a chunked body with no Content-Length over max_response_bytes fails clearly", async () => {
    const server = serve(() => chunkedJson(200_000));
    const result = await extract(pipelineHead(server.url, "max_response_bytes = 50000") + resource());
    expect((result.error as RestloadError).code).toBe("E_RESPONSE");
    expect(result.error!.message).toContain("larger than max_response_bytes (50000 bytes)");
    expect(server.requests).toHaveLength(1);
  });

  test("IDs 9007199254740993 and 9223372036854775807 come back exact", async () => {
    const server = serve(
      () =>
        new Response('[{"id": 9007199254740993, "small": 1, "float": 1.5}, {"id": 9223372036854775807}]', {
          headers: { "content-type": "application/json" },
        }),
    );
    const result = await extract(pipelineHead(server.url) + resource());
    expect(result.records.items).toEqual([{ id: 9007199254740993n, small: 1, float: 1.5 }, { id: 9223372036854775807n }]);
  });
});

describe("rate limits", () => {
  test("X-RateLimit-Remaining: 0 pauses the host until X-RateLimit-Reset", async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1));
    const reset = Math.floor(clock.now() / 1000) + 42;
    const server = serve((request, i) =>
      json([{ id: i }], {
        headers:
          i === 0
            ? { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset), link: `<${request.url.origin}/items?page=2>; rel="next"` }
            : {},
      }),
    );
    const result = await extract(pipelineHead(server.url) + '\n[[resources]]\nname = "items"\n', { clock });
    expect(result.records.items).toHaveLength(2);
    expect(clock.slept).toEqual([42_000]);
  });

  test("the IETF RateLimit field pauses the host too", async () => {
    const server = serve((request, i) =>
      json([{ id: i }], {
        headers: i === 0 ? { ratelimit: "limit=100, remaining=0, reset=7", link: `<${request.url.origin}/items?page=2>; rel="next"` } : {},
      }),
    );
    const result = await extract(pipelineHead(server.url) + '\n[[resources]]\nname = "items"\n');
    expect(result.clock.slept).toEqual([7000]);
  });

  test("requests_per_second spaces requests to one host", async () => {
    const server = serve((request, i) =>
      json([{ id: i }], { headers: i < 4 ? { link: `<${request.url.origin}/items?page=${i + 2}>; rel="next"` } : {} }),
    );
    const result = await extract(pipelineHead(server.url, "requests_per_second = 2") + '\n[[resources]]\nname = "items"\n');
    expect(result.records.items).toHaveLength(5);
    expect(result.clock.slept).toEqual([500, 500, 500, 500]);
  });
});
