// Who waits after a 503: the failing chain alone (its own backoff), unless the server's Retry-After
// asks the whole host to wait. On a fake clock: every wait is recorded, none is slept.
import { describe, expect, test } from "bun:test";
import { Redactor } from "../../src/config/redact.ts";
import { HttpClient, type FetchContext } from "../../src/extract/http/client.ts";
import { HostGate } from "../../src/extract/http/host-gate.ts";
import { createTransport } from "../../src/extract/http/transport.ts";
import { fakeClock } from "./_fake-clock.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";

const servers = serversStoppedAfterAll();

const context = (resource: string): FetchContext => ({ resource, what: "page 1", via: "the request", auth: null, responseActions: [] });

/**
 * Chain "a" gets one 503 with `retryAfter`, then its data. While "a" backs off (when its retry is
 * reported), chain "b" asks the same host. Returns each chain's recorded waits.
 */
async function twoChains(retryAfter: string): Promise<{ a: number[]; b: number[] }> {
  let failedOnce = false;
  const server = startServer((request) => {
    if (request.url.pathname === "/a" && !failedOnce) {
      failedOnce = true;
      return json({ message: "busy" }, { status: 503, headers: { "retry-after": retryAfter } });
    }
    return json([{ id: 1 }]);
  });
  servers.push(server);
  // Jitter draws 0.9: attempt 1 backs off 900 ms at backoff_factor 1.
  const clock = fakeClock(Date.UTC(2026, 0, 1), () => 0.9);
  const waits = { a: [] as number[], b: [] as number[] };
  let waiting: keyof typeof waits = "a";
  const recorded = { ...clock, sleep: (ms: number, signal?: AbortSignal) => (waits[waiting].push(ms), clock.sleep(ms, signal)) };
  let chainB: Promise<unknown> | undefined;
  const client = new HttpClient({
    policy: { timeoutMs: 10_000, maxAttempts: 3, backoffFactor: 1, maxRetryDelay: 300, maxResponseBytes: 1 << 20 },
    origins: { trusted: new Set([server.origin]), allowed: new Set() },
    gate: new HostGate({}, recorded),
    clock: recorded,
    transport: createTransport({ userAgent: "test" }),
    redactor: new Redactor(),
    onRetry: () => {
      // "b" starts now: its wait for the host (if any) is taken at once, before "a" sleeps.
      waiting = "b";
      chainB = client.fetchJson({ method: "GET", url: new URL("/b", server.origin), headers: {} }, context("b"));
      waiting = "a";
    },
  });
  const a = await client.fetchJson({ method: "GET", url: new URL("/a", server.origin), headers: {} }, context("a"));
  expect(a.kind).toBe("page");
  expect(chainB).toBeDefined();
  expect(((await chainB) as { kind: string }).kind).toBe("page");
  return waits;
}

describe("who waits after a 503", () => {
  test("a 503 with Retry-After: 0 makes its own chain back off and does not pause other chains", async () => {
    const waits = await twoChains("0");
    expect(waits.a).toEqual([900]);
    expect(waits.b).toEqual([]);
  });

  test("a 503 with Retry-After: 5 pauses the host: the other chain waits the 5 s too", async () => {
    const waits = await twoChains("5");
    expect(waits.a).toEqual([5000]);
    expect(waits.b).toEqual([5000]);
  });
});
