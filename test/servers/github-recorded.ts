// Serves the recorded GitHub API exchanges of test/fixtures/github-recorded/ from a local server.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { json, startServer, type TestServer } from "./server.ts";

export const recordedDir = resolve(import.meta.dir, "..", "fixtures", "github-recorded");

interface Exchange {
  method: string;
  path: string;
  status: number;
  response: unknown;
  headers: Record<string, string>;
}

/** A server answering each recorded request path with its recorded status, headers and body. */
export function serveRecorded(scenario: "paginate-issues" | "labels" | "search-issues"): TestServer & { exchanges: Exchange[] } {
  const exchanges = JSON.parse(readFileSync(join(recordedDir, `${scenario}.json`), "utf8")) as Exchange[];
  let origin = "";
  const server = startServer((request) => {
    const path = request.url.pathname + request.url.search;
    const exchange = exchanges.find((candidate) => candidate.method.toUpperCase() === request.method && candidate.path === path);
    if (!exchange) return json({ message: "Not Found", path }, { status: 404 });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(exchange.headers)) {
      if (["content-length", "transfer-encoding", "content-encoding", "connection"].includes(name.toLowerCase())) continue;
      headers[name] = String(value).replaceAll("https://api.github.com", origin);
    }
    return json(exchange.response, { status: exchange.status, headers });
  });
  origin = server.origin;
  return Object.assign(server, { exchanges });
}
