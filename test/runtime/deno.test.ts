// The same sources run on Deno: `deno task restload …`.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { denoBin, run, tempDir } from "../helpers.ts";

const deno = (args: string[]) => run([denoBin, "task", "--quiet", "restload", ...args]);

describe("on Deno", () => {
  test("deno task restload --version names Deno", async () => {
    const result = await deno(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^restload \d+\.\d+\.\d+ \(DuckDB [\d.]+, deno \d/);
  });

  test("deno task restload sql creates, fills and queries a database", async () => {
    const db = join(tempDir(), "deno.duckdb");
    const filled = await deno(["sql", db, "create table t as select range as id from range(3); select sum(id) + 9223372036854775804 as total from t", "--json"]);
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
});
