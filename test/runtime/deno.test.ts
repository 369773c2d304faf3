// The same sources run on Deno: `deno task restload …`.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { denoBin, repoRoot, run, tempDir } from "../helpers.ts";
import { serveRecorded } from "../servers/github-recorded.ts";
import { startDemoApi } from "../../scripts/demo-api.ts";

const deno = (args: string[], env: Record<string, string> = {}) =>
  run([denoBin, "task", "--quiet", "restload", ...args], { env: { ...process.env, ...env } });

describe("on Deno", () => {
  test("deno task restload --version names Deno", async () => {
    const result = await deno(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^restload \d+\.\d+\.\d+ \(DuckDB [\d.]+, deno \d/);
  });

  test("deno task restload sql creates, fills and queries a database", async () => {
    const db = join(tempDir(), "deno.duckdb");
    const filled = await deno([
      "sql",
      db,
      "create table t as select range as id from range(3); select sum(id) + 9223372036854775804 as total from t",
      "--json",
    ]);
    expect(filled.code).toBe(0);
    expect(filled.stdout).toContain('"total": 9223372036854775807');
    const bad = await deno(["sql", db, "selec 1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("error[E_SQL]");
  });

  test("an unknown command exits 64 on Deno too", async () => {
    const result = await deno(["frobnicate"]);
    expect(result.code).toBe(64);
  });

  test("deno task restload extract walks the recorded GitHub pages", async () => {
    const github = serveRecorded("paginate-issues");
    try {
      const file = join(tempDir(), "gh.toml");
      writeFileSync(
        file,
        `[pipeline]\nname = "gh"\n[client]\nbase_url = "${github.origin}/repos/octokit-fixture-org/paginate-issues/"\nauth = { token = { secret = "t" } }\n[[resources]]\nname = "issues"\nendpoint.params.per_page = 3\n`,
      );
      const result = await deno(["extract", file], { RESTLOAD_SECRET_T: "token" });
      expect(result.code).toBe(0);
      expect(result.stdout.trim().split("\n")).toHaveLength(13);
      expect(github.requests).toHaveLength(5);
    } finally {
      await github.stop();
    }
  });

  test("deno task restload run loads the demo API", async () => {
    const api = startDemoApi({ issues: 120 });
    try {
      const database = join(tempDir(), "demo.duckdb");
      const result = await deno(["run", "configs/demo.toml", "--database", database, "--json"], { RESTLOAD_DEMO_URL: api.url });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({
        issues: 120,
        issues__labels: 120,
        issues__assignees: 60,
        issue_comments: 120,
      });
      // The export too: every table published, the counts in the manifest.
      const lake = tempDir();
      const exported = await deno(["export", "configs/demo.toml", "--database", database, "--to", lake, "--json"], {
        RESTLOAD_DEMO_URL: api.url,
      });
      expect(exported.code).toBe(0);
      expect(
        Object.fromEntries(
          (JSON.parse(exported.stdout).tables as { table: string; status: string; rows: number }[]).map((table) => [
            table.table,
            `${table.status} ${table.rows}`,
          ]),
        ),
      ).toEqual({
        issues: "rewritten 120",
        issues__labels: "rewritten 120",
        issues__assignees: "rewritten 60",
        issue_comments: "rewritten 120",
      });
      expect(JSON.parse(readFileSync(join(lake, "github", "_manifest.json"), "utf8")).tables.issues.rows).toBe(120);
    } finally {
      await api.stop();
    }
  });

  test("deno task restload serve answers /healthz and the overview", async () => {
    const api = startDemoApi({ issues: 10 });
    const database = join(tempDir(), "demo.duckdb");
    // deno run directly (not through the task runner), so killing it ends the server.
    const proc = Bun.spawn([denoBin, "run", "-A", "src/main.ts", "serve", "--database", database, "--port", "0"], {
      cwd: repoRoot,
      env: { ...process.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      expect((await deno(["run", "configs/demo.toml", "--database", database], { RESTLOAD_DEMO_URL: api.url })).code).toBe(0);
      const reader = proc.stdout.getReader();
      let text = "";
      while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
      const base = /serving (\S+)/.exec(text)![1]!;
      expect(await (await fetch(`${base}healthz`)).text()).toBe("ok\n");
      expect(await (await fetch(base)).text()).toContain('data-pipeline="demo"');
    } finally {
      proc.kill();
      await api.stop();
    }
  });
});
