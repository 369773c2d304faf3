// `restload extract` and `restload check --probe` end to end, as processes, against local servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, compiledBinary, denoBin, mainTs, restload, run, tempDir } from "../helpers.ts";
import { serveRecorded } from "../servers/github-recorded.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";

const canary = "c4n4ry+/=&k3y";
let github: TestServer;
let api: TestServer;
let dir: string;

beforeAll(() => {
  github = serveRecorded("paginate-issues");
  api = startServer((request) => {
    switch (request.url.pathname) {
      case "/big":
        return new Response('{"data": [{"id": 9007199254740993, "n": 1}, {"id": 9223372036854775807, "n": 2}]}', {
          headers: { "content-type": "application/json" },
        });
      case "/broken":
        return json({ message: `forbidden for ${request.url.searchParams.get("key")}` }, { status: 403 });
      default:
        return json({
          data: [{ id: 1 }, { id: 2 }],
          next: request.url.searchParams.get("page") === "2" ? null : `${request.url.pathname}?page=2`,
        });
    }
  });
  dir = tempDir();
  writeFileSync(
    join(dir, "github.toml"),
    `[pipeline]\nname = "gh"\n[client]\nbase_url = "${github.origin}/repos/octokit-fixture-org/paginate-issues/"\nauth = { token = { secret = "github_token" } }\n[[resources]]\nname = "issues"\nendpoint.params.per_page = 3\n\n[[resources]]\nname = "issue_comments"\nendpoint.path = "issues/{resources.issues.number}/comments"\n`,
  );
  writeFileSync(
    join(dir, "api.toml"),
    `[pipeline]\nname = "api"\n[client]\nbase_url = "${api.url}"\nauth = { type = "api_key", name = "key", api_key = { secret = "api_key" }, location = "query" }\n\n[[resources]]\nname = "big"\n\n[[resources]]\nname = "pages"\n\n[[resources]]\nname = "broken"\n`,
  );
});
afterAll(async () => {
  await github.stop();
  await api.stop();
});

const env = { ...process.env, RESTLOAD_SECRET_GITHUB_TOKEN: "ghp_test", RESTLOAD_SECRET_API_KEY: canary };
/** 500 pages of 100 records (~12 MB) under /items: far beyond what a pipe buffers, so writes must hit a closed pipe; /broken answers 403. */
const longPages = 500;
function longApi(): TestServer {
  return startServer((request) => {
    if (request.url.pathname === "/broken") return json({ message: "forbidden" }, { status: 403 });
    const page = Number(request.url.searchParams.get("page") ?? "1");
    return json({
      data: Array.from({ length: 100 }, (_, i) => ({ id: page * 100 + i, pad: "x".repeat(200) })),
      next: page < longPages ? `/items?page=${page + 1}` : null,
    });
  });
}

/** `command extract file | head -1`: head's output, and restload's own stderr and exit status (sh reports head's). */
async function throughHead(command: string[], file: string): Promise<{ stdout: string; stderr: string; code: string }> {
  const work = tempDir();
  const [stderrFile, codeFile] = [join(work, "stderr"), join(work, "code")];
  const piped = await run([
    "sh",
    "-c",
    'f="$1" e="$2" c="$3"; shift 3; ("$@" extract "$f" 2>"$e"; echo $? >"$c") | head -1',
    "sh",
    file,
    stderrFile,
    codeFile,
    ...command,
  ]);
  return { stdout: piped.stdout, stderr: readFileSync(stderrFile, "utf8"), code: readFileSync(codeFile, "utf8").trim() };
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));

describe("restload extract", () => {
  test("streams the recorded GitHub issues: 13 records over 5 Link pages, one NDJSON line each", async () => {
    const result = await restload(["extract", join(dir, "github.toml")], { env });
    expect(result.code).toBe(0);
    const records = lines(result.stdout);
    expect(records).toHaveLength(13);
    expect(records.every((line) => line.resource === "issues")).toBe(true);
    expect(records.map((line) => line.record.number)).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(result.stderr).toContain("issues: 13 records in 5 pages");
    expect(result.stderr).toContain("note: child resources are not extracted by this command: issue_comments");
    expect(github.requests.every((r) => r.headers.get("authorization") === "Bearer ghp_test")).toBe(true);
  });

  test("prints 9007199254740993 and 9223372036854775807 exactly", async () => {
    const result = await restload(["extract", join(dir, "api.toml"), "--select", "big"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      '{"resource":"big","record":{"id":9007199254740993,"n":1}}\n{"resource":"big","record":{"id":9223372036854775807,"n":2}}\n',
    );
  });

  test("--max-pages stops each resource early", async () => {
    const result = await restload(["extract", join(dir, "api.toml"), "--select", "pages", "--max-pages", "1"], { env });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(2);
    expect(result.stderr).toContain("pages: 2 records in 1 page");
  });

  test("an unknown --select resource exits 78 with the closest name", async () => {
    const result = await restload(["extract", join(dir, "api.toml"), "--select", "pagez"], { env });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('--select: unknown resource "pagez" (did you mean "pages"?)');
  });

  test("selecting a child resource exits 78 naming its root", async () => {
    const result = await restload(["extract", join(dir, "github.toml"), "--select", "issue_comments"], { env });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('select the root resource "issues"');
  });

  test("a failing resource exits 1 after the others streamed, and the key never shows", async () => {
    const result = await restload(["extract", join(dir, "api.toml")], { env });
    expect(result.code).toBe(1);
    expect(lines(result.stdout).map((line) => line.resource)).toEqual(["big", "big", "pages", "pages", "pages", "pages"]);
    expect(result.stderr).toContain('Cannot fetch page 1 of resource "broken" as the server returned 403: GET');
    expect(result.stderr).toContain("/broken?key=***");
    expect(result.stderr).toContain("forbidden for ***");
    expect(result.stderr).toContain('Check the secret "api_key"');
    for (const form of [canary, encodeURIComponent(canary), new URLSearchParams({ k: canary }).toString().slice(2)]) {
      expect(result.stderr + result.stdout).not.toContain(form);
    }
  });

  test("HTTP_PROXY is honoured, and NO_PROXY bypasses it", async () => {
    const proxy = startServer((request) => json({ data: [{ via: request.url.toString() }] }));
    try {
      const file = join(dir, "proxied.toml");
      writeFileSync(
        file,
        `[pipeline]\nname = "proxied"\n[client]\nbase_url = "http://api.example.test/v1/"\nmax_attempts = 1\n[[resources]]\nname = "items"\n`,
      );
      const viaProxy = await restload(["extract", file], { env: { ...env, HTTP_PROXY: proxy.url } });
      expect(viaProxy.code).toBe(0);
      expect(lines(viaProxy.stdout)).toEqual([{ resource: "items", record: { via: "http://api.example.test/v1/items" } }]);
      const bypassed = await restload(["extract", file], { env: { ...env, HTTP_PROXY: proxy.url, NO_PROXY: "api.example.test" } });
      expect(bypassed.code).toBe(1);
      expect(proxy.requests).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  // Deno too: there an unheard "error" event of stdout would end the process.
  test.each([
    ["bun", [bunBin, mainTs]],
    ["deno", [denoBin, "run", "-A", mainTs]],
  ])("piped into `head -1` (%s), it stops requesting once stdout closes and exits 0 without an error", async (_, command) => {
    const long = longApi();
    try {
      const file = join(tempDir(), "long.toml");
      writeFileSync(file, `[pipeline]\nname = "long"\n[client]\nbase_url = "${long.url}"\n[[resources]]\nname = "items"\n`);
      const piped = await throughHead(command, file);
      expect(lines(piped.stdout)).toEqual([{ resource: "items", record: { id: 100, pad: "x".repeat(200) } }]);
      expect(piped.stderr).toBe("");
      expect(piped.code).toBe("0");
      expect(long.requests.length).toBeLessThan(longPages / 10);
    } finally {
      await long.stop();
    }
  });

  test("piped into `head -1` after a resource failed, it still exits 1 with that resource's error", async () => {
    const long = longApi();
    try {
      const file = join(tempDir(), "long.toml");
      writeFileSync(
        file,
        `[pipeline]\nname = "long"\n[client]\nbase_url = "${long.url}"\n[[resources]]\nname = "broken"\n[[resources]]\nname = "items"\n`,
      );
      const piped = await throughHead([bunBin, mainTs], file);
      expect(lines(piped.stdout)).toEqual([{ resource: "items", record: { id: 100, pad: "x".repeat(200) } }]);
      expect(piped.stderr).toContain('Cannot fetch page 1 of resource "broken" as the server returned 403');
      expect(piped.stderr).toContain("broken: failed after 0 records in 0 pages");
      expect(piped.code).toBe("1");
      expect(long.requests.length).toBeLessThan(longPages / 10);
    } finally {
      await long.stop();
    }
  });

  test("works from the compiled binary", async () => {
    const binary = await compiledBinary();
    const result = await run([binary, "extract", join(dir, "api.toml"), "--select", "big"], {
      env: { ...env, RESTLOAD_CACHE_DIR: tempDir() },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"id":9223372036854775807');
  }, 300_000);
});

describe("restload check --probe", () => {
  test("shows status, the detected paginator and selector, records and field names", async () => {
    const result = await restload(["check", "--probe", join(dir, "github.toml")], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('paginator  header_link { links_next_key = "next" }  (detected; pin it with endpoint.paginator)');
    expect(result.stdout).toContain("selector   $  (detected; pin it with endpoint.data_selector)");
    expect(result.stdout).toContain("records    3 on the first page");
    expect(result.stdout).toMatch(/fields {5}url, repository_url, .*number, title/);
  });

  test("--json carries the probe; a failing resource makes it exit 1 without its secret", async () => {
    const result = await restload(["check", "--probe", "--json", join(dir, "api.toml")], { env });
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout);
    expect(output.ok).toBe(false);
    const byName = Object.fromEntries(output.probe.map((probe: { resource: string }) => [probe.resource, probe]));
    expect(byName.big).toMatchObject({
      ok: true,
      status: 200,
      records: 2,
      fields: ["id", "n"],
      data_selector: { path: "data", detected: true },
    });
    expect(byName.pages.paginator).toMatchObject({ type: "json_link", next_url_path: "next", detected: true });
    expect(byName.broken).toMatchObject({ ok: false, error: { code: "E_HTTP" } });
    expect(result.stdout).not.toContain(canary);
    expect(result.stdout).not.toContain(encodeURIComponent(canary));
  });
});

describe("extra CA certificates", () => {
  test("client.ca_certificates lets restload trust a private CA; without it the TLS handshake fails", async () => {
    const certDir = tempDir();
    const made = await run([
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      join(certDir, "key.pem"),
      "-out",
      join(certDir, "cert.pem"),
    ]);
    expect(made.code).toBe(0);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { key: Bun.file(join(certDir, "key.pem")), cert: Bun.file(join(certDir, "cert.pem")) },
      fetch: () => Response.json([{ id: 1, secure: true }]),
    });
    try {
      const head = `[pipeline]\nname = "tls"\n[client]\nbase_url = "https://127.0.0.1:${server.port}/"\nmax_attempts = 1\n`;
      writeFileSync(join(certDir, "trusted.toml"), `${head}ca_certificates = "cert.pem"\n[[resources]]\nname = "items"\n`);
      writeFileSync(join(certDir, "untrusted.toml"), `${head}[[resources]]\nname = "items"\n`);
      const trusted = await restload(["extract", join(certDir, "trusted.toml")]);
      expect(trusted.stderr).toContain("items: 1 record in 1 page");
      expect(trusted.stdout).toBe('{"resource":"items","record":{"id":1,"secure":true}}\n');
      const untrusted = await restload(["extract", join(certDir, "untrusted.toml")]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toContain("the connection failed");
    } finally {
      server.stop(true);
    }
  });
});
