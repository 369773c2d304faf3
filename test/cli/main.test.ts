import { describe, expect, test } from "bun:test";
import packageJson from "../../package.json" with { type: "json" };
import { restload } from "../helpers.ts";

describe("command line shell", () => {
  test("--version prints the version, DuckDB's version and the runtime", async () => {
    const result = await restload(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^restload ${packageJson.version.replaceAll(".", "\\.")} \\(DuckDB \\d+\\.\\d+\\.\\d+, bun \\d`),
    );
  });

  test("--help lists the sql command and exits 0", async () => {
    const result = await restload(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("sql <database> [sql]");
  });

  test("a command's --help describes its flags", async () => {
    const result = await restload(["sql", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--lock-timeout <seconds>");
    expect(result.stdout).toContain("--csv");
  });

  test("an unknown command exits 64 with the help hint", async () => {
    const result = await restload(["frobnicate"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('Unknown command "frobnicate"');
    expect(result.stderr).toContain("restload --help");
  });

  test("an unknown flag of a command exits 64 naming the flag", async () => {
    const result = await restload(["sql", "--frobnicate", "x.duckdb", "select 1"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("--frobnicate");
    expect(result.stderr).toContain("restload sql --help");
  });

  test("an unknown flag with no command exits 64", async () => {
    const result = await restload(["--frobnicate"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("Unknown option --frobnicate");
  });

  test("a missing argument exits 64", async () => {
    const result = await restload(["sql"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("E_USAGE");
  });

  test("no command at all exits 64", async () => {
    const result = await restload([]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("No command given");
  });

  test("kebab-case boolean flags may stand before the positional arguments", async () => {
    const result = await restload(["check", "--skip-secrets", "configs/github.toml"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("not looked up (--skip-secrets)");
  });
});
