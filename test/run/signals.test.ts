// A run stopped by a signal exits by that signal (SIGINT 130, SIGTERM 143) and records which one.
import { describe, expect, test } from "bun:test";
import { bunBin, mainTs, repoRoot } from "../helpers.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

/** Ten pages of two records, each answered after 150 ms: a run lasts long enough to be stopped mid-way. */
function slowApi(): TestServer {
  const server = startServer(async (request) => {
    await Bun.sleep(150);
    const page = Number(request.url.searchParams.get("page") ?? 0);
    const next = page < 9 ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : {};
    return json([{ id: page * 2 }, { id: page * 2 + 1 }], { headers: next });
  });
  servers.push(server);
  return server;
}

describe("signals", () => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    test(`${signal} mid-run exits ${code}; the run and its unit record the signal`, async () => {
      const server = slowApi();
      const p = project(`${testHead(server.url)}[[resources]]\nname = "items"\n`);
      const proc = Bun.spawn([bunBin, mainTs, "run", p.pipeline, "--json"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
      while (server.requests.length < 2) await Bun.sleep(10);
      proc.kill(signal);
      expect(await proc.exited).toBe(code);
      const summary = JSON.parse(await new Response(proc.stdout).text());
      expect(summary).toMatchObject({
        status: "interrupted",
        exit_code: code,
        units: [{ status: "failed", error: { code: "E_INTERRUPTED", context: { signal }, exit_code: code } }],
      });
      expect(await p.query("select status, exit_code, error, error_data->>'$.context.signal' as signal from data._rl_runs")).toEqual([
        { status: "interrupted", exit_code: code, error: `interrupted by ${signal}`, signal },
      ]);
      expect(await p.query("select status, error_data->>'$.exit_code' as exit_code from data._rl_loads")).toEqual([
        { status: "failed", exit_code: String(code) },
      ]);
    });
  }
});
