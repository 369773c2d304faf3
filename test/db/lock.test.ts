import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bunBin, repoRoot, restload, tempDir } from "../helpers.ts";

const holderScript = join(repoRoot, "test", "fixtures", "hold-database.ts");

/** Starts a process that holds `db` for `ms` and resolves once it holds the lock. */
async function holdDatabase(db: string, ms: number) {
  const proc = Bun.spawn([bunBin, holderScript, db, String(ms)], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("ready");
  reader.releaseLock();
  return proc;
}

describe("database lock", () => {
  test("a second process waits --lock-timeout, then exits 75 naming the holder", async () => {
    const db = join(tempDir(), "held.duckdb");
    const holder = await holdDatabase(db, 20_000);
    try {
      const started = performance.now();
      const result = await restload(["sql", db, "select 1", "--lock-timeout", "1.5"]);
      const waited = performance.now() - started;
      expect(result.code).toBe(75);
      expect(result.stderr).toContain("error[E_LOCKED]");
      expect(result.stderr).toContain(`process ${holder.pid} (bun ${holderScript}`);
      expect(result.stderr).toContain("waited 1.5 s");
      expect(result.stderr).toContain("--lock-timeout");
      // The wait is a lower bound set by the flag, not a performance figure.
      expect(waited).toBeGreaterThanOrEqual(1_500);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("--lock-timeout 0 gives up at once", async () => {
    const db = join(tempDir(), "held0.duckdb");
    const holder = await holdDatabase(db, 20_000);
    try {
      const result = await restload(["sql", db, "select 1", "--lock-timeout", "0"]);
      expect(result.code).toBe(75);
      expect(result.stderr).toContain(`process ${holder.pid}`);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("a second process gets the database once the holder releases it within the timeout", async () => {
    const db = join(tempDir(), "released.duckdb");
    const holder = await holdDatabase(db, 1_000);
    const result = await restload(["sql", db, "select count(*) as n from held", "--csv", "--lock-timeout", "30"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("n\n0\n");
    expect(await holder.exited).toBe(0);
  });
});
