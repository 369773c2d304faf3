// `restload serve`: the status page of one or more pipeline databases.
import type { CAC } from "cac";
import { resolve } from "node:path";
import { RestloadError } from "../errors.ts";
import { serveHttp } from "../runtime/http-server.ts";
import type { Io } from "./_io.ts";
import { secondsFlag } from "./_options.ts";

interface ServeFlags {
  database?: string | string[];
  host?: string;
  port?: unknown;
  maxAge?: unknown;
}

export function registerServe(cli: CAC, io: Io): void {
  cli
    .command("serve", "Serve the status page of pipeline databases (loopback by default)")
    .option("--database <path>", "A pipeline's DuckDB file (repeat for several)")
    .option("--host <host>", "Address to bind (default: 127.0.0.1); beyond loopback RESTLOAD_SERVE_TOKEN is required")
    .option("--port <port>", "Port (default: 8484; 0 picks a free one)")
    .option("--max-age <duration>", "/healthz fails when the last successful unit is older (e.g. 90m, 2h, 1d)")
    .example("restload serve --database /var/lib/restload/github.duckdb --max-age 2h")
    .action((flags: ServeFlags) => runServe(io, flags));
}

/** --max-age in seconds ("90m" → 5400; plain numbers are seconds), or null when not given. */
function maxAgeSeconds(value: unknown): number | null {
  return value === undefined ? null : secondsFlag("--max-age", value, "Pass e.g. --max-age 90m, 2h or 1d.");
}

async function runServe(io: Io, flags: ServeFlags): Promise<number> {
  const databases = [flags.database ?? []].flat().map((path) => resolve(String(path)));
  if (databases.length === 0)
    throw new RestloadError("E_USAGE", "serve needs at least one --database", { hint: "restload serve --database pipeline.duckdb" });
  const host = flags.host ?? "127.0.0.1";
  const port = flags.port === undefined ? 8484 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RestloadError("E_USAGE", `--port expects a port number, got "${String(flags.port)}"`);
  const loopback = host === "127.0.0.1" || host === "::1" || host === "localhost" || host.startsWith("127.");
  const token = io.env.RESTLOAD_SERVE_TOKEN || null;
  if (!loopback && token === null) {
    throw new RestloadError("E_CONFIG", `Refusing to serve on ${host} without a token`, {
      hint: "Set RESTLOAD_SERVE_TOKEN (clients send it as a bearer header or ?token=), or bind to 127.0.0.1.",
    });
  }
  const maxAge = maxAgeSeconds(flags.maxAge);
  const { createApp } = await import("../serve/app.ts");
  const app = createApp({ databases, maxAgeSeconds: maxAge, token });
  const server = serveHttp(app.fetch, host, port);
  app.start();
  await io.stdout(`serving http://${host.includes(":") ? `[${host}]` : host}:${server.port}/ for ${databases.join(", ")}\n`);
  await new Promise<void>((done) => {
    if (!io.signal) return;
    if (io.signal.aborted) done();
    io.signal.addEventListener("abort", () => done(), { once: true });
  });
  app.stop();
  await server.stop();
  return 0;
}
