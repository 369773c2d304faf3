// The compiled binary, run as the units run it, makes only the system calls and sockets the units' filters allow (strace).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, compiledBinary, repoRoot, run, runMain, servingUrl, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { printedUnits, systemdAnalyze } from "./_systemd.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

/** strace, checked to be able to trace here; without it this test fails saying what is missing. */
async function strace(): Promise<string> {
  const path = Bun.which("strace");
  if (path === null)
    throw new Error('strace is not on PATH: this test counts the system calls of real runs with it (Debian package "strace")');
  const probe = await run([path, "-f", "-c", "-o", join(tempDir(), "probe"), "/bin/true"]);
  if (probe.code !== 0) {
    throw new Error(
      `strace cannot trace processes here (${probe.stderr.trim()}): this test needs ptrace, which CAP_SYS_PTRACE, kernel.yama.ptrace_scope and a container's seccomp profile can deny`,
    );
  }
  return path;
}

/** Every name in the allow list the unit's SystemCallFilter= lines build, groups expanded as `systemd-analyze syscall-filter` lists them. */
async function allowedSyscalls(unit: string): Promise<Set<string>> {
  const listed = await run([systemdAnalyze(), "syscall-filter"]);
  expect(listed.code).toBe(0);
  const groups = new Map<string, string[]>();
  let group: string[] | undefined;
  for (const line of listed.stdout.split("\n")) {
    if (line.startsWith("@")) groups.set(line.trim(), (group = []));
    else if (group && line.trim() !== "" && !line.trim().startsWith("#")) group.push(line.trim());
  }
  const expand = (entry: string): string[] => {
    if (!entry.startsWith("@")) return [entry.replace(/:.*$/, "")];
    const members = groups.get(entry);
    if (!members) throw new Error(`systemd-analyze syscall-filter does not list the group ${entry}`);
    return members.flatMap(expand);
  };
  const allowed = new Set<string>();
  const denied = new Set<string>();
  for (const [, value] of unit.matchAll(/^SystemCallFilter=(.*)$/gm)) {
    const deny = value!.startsWith("~");
    for (const entry of value!.replace(/^~/, "").split(/\s+/).filter(Boolean).flatMap(expand)) (deny ? denied : allowed).add(entry);
  }
  for (const name of denied) allowed.delete(name);
  return allowed;
}

/** The system calls in the summary `strace -C` ends its output with. */
function syscallsCounted(trace: string): Set<string> {
  const summary = trace.slice(trace.lastIndexOf("% time"));
  const names = new Set<string>();
  for (const line of summary.split("\n").slice(2)) {
    const name = line.trim().split(/\s+/).at(-1);
    if (name && !name.startsWith("-") && name !== "total") names.add(name);
  }
  return names;
}

/** The address families of every socket() in a trace. */
function socketFamilies(trace: string): Set<string> {
  return new Set([...trace.matchAll(/\bsocket\((AF_\w+)/g)].map((match) => match[1]!));
}

/** A paged API (Link headers), a child resource per item, bearer auth: what a real pipeline exercises. */
function startApi(): TestServer {
  const server = startServer((request) => {
    if (request.headers.get("authorization") !== "Bearer s3cret") return json({ message: "bad credentials" }, { status: 401 });
    const page = Number(request.url.searchParams.get("page") ?? "1");
    if (request.url.pathname === "/items") {
      const items = Array.from({ length: 20 }, (_, index) => ({
        id: page * 100 + index,
        number: page * 100 + index,
        title: ` item ${index} `,
        updated_at: `2024-02-0${page}T00:00:00Z`,
      }));
      const next = page < 3 ? { link: `<http://${request.headers.get("host")}/items?page=${page + 1}>; rel="next"` } : undefined;
      return json(items, next ? { headers: next } : {});
    }
    const notes = /^\/items\/(\d+)\/notes$/.exec(request.url.pathname);
    if (notes) return json([{ id: Number(notes[1]) * 10, text: "note" }]);
    return json({ message: "not found" }, { status: 404 });
  });
  servers.push(server);
  return server;
}

describe("restload under the units' system call filter", () => {
  test("runs and the status page use only system calls of the filter and sockets of RestrictAddressFamilies=", async () => {
    const straceBin = await strace();
    const binary = await compiledBinary();
    const printed = await runMain(["systemd", join(repoRoot, "configs", "github.toml"), "--binary", bunBin, "--force"]);
    const units = printedUnits(printed.stdout);
    const service = units.get("restload-rest-api-github.service");
    expect(service).toBeDefined();
    const allowed = await allowedSyscalls(service!);
    expect(allowed.has("read")).toBe(true);
    expect(allowed.has("setuid")).toBe(false);
    const families = /^RestrictAddressFamilies=(.*)$/m.exec(service!)![1]!.split(" ");

    // The layout systemd gives the service: state, cache and credentials directories in the environment, / as working directory.
    const api = startApi();
    const root = tempDir();
    const [state, cache, credentials] = ["state", "cache", "credentials"].map((name) => join(root, name));
    for (const dir of [state!, cache!, credentials!]) mkdirSync(dir);
    writeFileSync(join(credentials!, "api_token"), "s3cret");
    writeFileSync(
      join(root, "steps.ts"),
      "export function tidy(record: { title: string }) {\n  return { ...record, title: record.title.trim() };\n}\n",
    );
    const pipeline = join(root, "traced.toml");
    writeFileSync(
      pipeline,
      `[pipeline]\nname = "traced"\ndataset = "data"\ndatabase = "traced.duckdb"\n[client]\nbase_url = "http://localhost:${new URL(api.url).port}/"\n` +
        `auth = { type = "bearer", token = { secret = "api_token" } }\n[resource_defaults]\nprimary_key = "id"\nwrite_disposition = "merge"\n` +
        `[[resources]]\nname = "items"\nendpoint.path = "items"\n` +
        `endpoint.params.since = { type = "incremental", cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z" }\n` +
        `processing_steps = [{ map = { module = "./steps.ts", export = "tidy" } }]\n` +
        `[[resources]]\nname = "notes"\nendpoint.path = "items/{n}/notes"\nendpoint.params.n = { type = "resolve", resource = "items", field = "number" }\n`,
    );
    const env = {
      PATH: "/usr/bin:/bin",
      STATE_DIRECTORY: state!,
      CACHE_DIRECTORY: cache!,
      CREDENTIALS_DIRECTORY: credentials!,
      JOURNAL_STREAM: "0:0",
    };
    const traces: string[] = [];

    // A first run (unpacks DuckDB into the cache directory), then an incremental one.
    for (const attempt of [1, 2]) {
      const traceFile = join(root, `run-${attempt}.trace`);
      const result = await run([straceBin, "-f", "-C", "-o", traceFile, binary, "run", pipeline, "--lock-timeout", "120"], {
        cwd: "/",
        env,
      });
      if (result.code !== 0) console.error(result.stdout, result.stderr);
      expect(result.code).toBe(0);
      traces.push(readFileSync(traceFile, "utf8"));
    }
    expect(api.requests.length).toBeGreaterThan(60);

    // The status page: every page, then SIGTERM as systemctl stop sends it.
    const serveTrace = join(root, "serve.trace");
    const serve = Bun.spawn(
      [
        straceBin,
        "-f",
        "-C",
        "-o",
        serveTrace,
        binary,
        "serve",
        "--database",
        join(state!, "traced.duckdb"),
        "--port",
        "0",
        "--max-age",
        "2h",
      ],
      { cwd: "/", env, stdout: "pipe", stderr: "pipe" },
    );
    const url = await servingUrl(serve);
    for (const path of ["/", "/cursors?dataset=data", "/api/pipelines", "/healthz", "/metrics"]) {
      const response = await fetch(new URL(path, url));
      expect(`${path} ${response.status}`).toBe(`${path} 200`);
    }
    const traced = readFileSync(`/proc/${serve.pid}/task/${serve.pid}/children`, "utf8").trim().split(" ")[0];
    process.kill(Number(traced), "SIGTERM");
    await serve.exited;
    traces.push(readFileSync(serveTrace, "utf8"));

    const used = new Set(traces.flatMap((trace) => [...syscallsCounted(trace)]));
    // The counts were read: a run opens files, maps memory, connects and writes.
    for (const name of ["execve", "openat", "mmap", "connect", "write"]) expect(used.has(name)).toBe(true);
    const outside = [...used].filter((name) => !allowed.has(name)).sort();
    expect(outside).toEqual([]);
    const foreign = [...new Set(traces.flatMap((trace) => [...socketFamilies(trace)]))].filter((family) => !families.includes(family));
    expect(foreign).toEqual([]);
  }, 300_000);
});
