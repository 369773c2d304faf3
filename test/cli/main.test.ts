import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { bunBin, repoRoot, restload, runMain, tempDir } from "../helpers.ts";

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
    expect(result.stdout).toContain("sql <database|pipeline> [sql]");
  });

  test("a command's --help describes its flags", async () => {
    const result = await restload(["sql", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--lock-timeout <duration>");
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

  test("a mistyped command exits 64 with the closest command", async () => {
    const result = await runMain(["runn", "pipeline.toml"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('error[E_USAGE]: Unknown command "runn" (did you mean "run"?)');
  });

  test("a pipeline file where the command belongs exits 64 saying the command comes first", async () => {
    const result = await runMain(["pipeline.toml"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('Unknown command "pipeline.toml": the command comes first, e.g. restload run pipeline.toml');
  });

  test("a mistyped flag exits 64 naming it as typed, with the closest flag of the command", async () => {
    const result = await runMain(["run", "pipeline.toml", "--selct", "issues"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("Unknown option --selct of restload run (did you mean --select?)");
    expect(result.stderr).toContain("Run `restload run --help` for its arguments and options.");
    const kebab = await runMain(["extract", "pipeline.toml", "--max-pagez", "2"]);
    expect(kebab.code).toBe(64);
    expect(kebab.stderr).toContain("Unknown option --max-pagez of restload extract (did you mean --max-pages?)");
  });

  test("a flag of another command exits 64 naming the command that takes it", async () => {
    const result = await runMain(["check", "pipeline.toml", "--dry-run"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("Unknown option --dry-run of restload check; it is an option of restload run");
  });

  test("a one-letter flag gets no guess", async () => {
    const result = await runMain(["run", "pipeline.toml", "-x"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("Unknown option -x of restload run\n");
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

  test("--lock-timeout takes a duration: 1500ms waits 1.5 s for the holder, then exits 75", async () => {
    const db = join(tempDir(), "held.duckdb");
    const holder = Bun.spawn([bunBin, join(repoRoot, "test", "fixtures", "hold-database.ts"), db, "20000"], { stdout: "pipe" });
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
      reader.releaseLock();
      const result = await restload(["sql", db, "select 1", "--lock-timeout", "1500ms"]);
      expect(result.code).toBe(75);
      expect(result.stderr).toContain("waited 1.5 s");
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("--lock-timeout that is no duration exits 64 saying what it takes", async () => {
    const result = await runMain(["sql", join(tempDir(), "x.duckdb"), "select 1", "--lock-timeout", "soon"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('--lock-timeout expects seconds or a duration such as 30s, 2m or 1h30m, got "soon"');
  });

  test("kebab-case boolean flags may stand before the positional arguments", async () => {
    const result = await restload(["check", "--skip-secrets", "configs/github.toml"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("not looked up (--skip-secrets)");
  });
});
