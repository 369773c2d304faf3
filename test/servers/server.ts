// Local HTTP servers on port 0 for tests: a request log, and helpers for JSON and cut-off bodies.
import { afterAll } from "bun:test";
import type { Server } from "bun";

export interface LoggedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: string;
}

export interface TestServer {
  readonly url: string;
  readonly origin: string;
  readonly requests: LoggedRequest[];
  /** Requests being handled right now, and the most seen at once. */
  readonly concurrency: { now: number; max: number };
  stop(): Promise<void>;
}

export type Handler = (request: LoggedRequest, index: number) => Response | Promise<Response>;

/** Starts a server on 127.0.0.1:0 that logs every request and answers with `handler`. */
export function startServer(handler: Handler): TestServer {
  const requests: LoggedRequest[] = [];
  const concurrency = { now: 0, max: 0 };
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    async fetch(request) {
      const logged = { method: request.method, url: new URL(request.url), headers: request.headers, body: await request.text() };
      requests.push(logged);
      concurrency.now++;
      concurrency.max = Math.max(concurrency.max, concurrency.now);
      try {
        return await handler(logged, requests.length - 1);
      } finally {
        concurrency.now--;
      }
    },
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return { url: `${origin}/`, origin, requests, concurrency, stop: () => server.stop(true) };
}

/** A JSON response; bigints are written exactly. */
export function json(body: unknown, init: ResponseInit = {}): Response {
  const text = JSON.stringify(body, (_key, value) => (typeof value === "bigint" ? JSON.rawJSON(value.toString()) : value));
  return new Response(text, { ...init, headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) } });
}

/** A response that promises `declared` bytes of `text` but ends the connection early. */
export function cutOff(text: string, sendBytes: number): Response {
  const bytes = new TextEncoder().encode(text);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, sendBytes));
      setTimeout(() => controller.error(new Error("connection reset")), 10);
    },
  });
  return new Response(stream, { headers: { "content-type": "application/json", "content-length": String(bytes.length) } });
}

/** A chunked response (no Content-Length) of `size` bytes of JSON. */
export function chunkedJson(size: number): Response {
  const chunk = new TextEncoder().encode(`{"pad":"${"x".repeat(1000)}"},`);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode("["));
      if (sent >= size) {
        controller.enqueue(new TextEncoder().encode("{}]"));
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
  return new Response(stream, { headers: { "content-type": "application/json" } });
}

/** The list a test file adds the servers it starts to; each is stopped after the file's tests. */
export function serversStoppedAfterAll(): TestServer[] {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop();
  });
  return servers;
}
