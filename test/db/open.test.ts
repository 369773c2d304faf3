// Opening a file: it is attached to an in-memory instance (with a row group size, for runs) and is the default catalog.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/db/open.ts";
import { Session } from "../../src/db/session.ts";
import { tempDir } from "../helpers.ts";

async function rowGroupsAfterInsert(file: string, rowGroupSize: number | undefined): Promise<{ catalog: string; rowGroups: number }> {
  const database = await openDatabase(file, {
    create: true,
    lockTimeoutMs: 0,
    memoryLimit: "128MB",
    ...(rowGroupSize === undefined ? {} : { rowGroupSize }),
  });
  try {
    const session = await Session.of(database);
    await session.run("CREATE TABLE t AS SELECT range AS id, 'row ' || range AS name FROM range(40000)");
    const [row] = await session.all("SELECT count(DISTINCT row_group_id) AS n FROM pragma_storage_info('t')");
    return { catalog: session.catalog, rowGroups: Number(row!.n) };
  } finally {
    database.close();
  }
}

describe("openDatabase", () => {
  test("40,000 rows take two row groups of at most 32,768 rows (one with DuckDB's default); the data is in the file", async () => {
    const dir = tempDir();
    expect(await rowGroupsAfterInsert(join(dir, "small.duckdb"), 32_768)).toEqual({ catalog: "small", rowGroups: 2 });
    expect(await rowGroupsAfterInsert(join(dir, "default.duckdb"), undefined)).toEqual({ catalog: "default", rowGroups: 1 });
    const reopened = await openDatabase(join(dir, "small.duckdb"), {
      create: false,
      lockTimeoutMs: 0,
      readOnly: true,
      memoryLimit: "128MB",
    });
    try {
      const [row] = await (await Session.of(reopened)).all("SELECT count(*) AS n, max(id) AS top FROM t");
      expect(row).toEqual({ n: "40000", top: "39999" });
    } finally {
      reopened.close();
    }
  });

  test("files named like built-in catalogs or schemas (any case) keep their data in the file", async () => {
    // DuckDB opening System.duckdb or TEMP.duckdb itself fails; attached under another name they work.
    const names = {
      "memory.duckdb": "memory_db",
      "main.duckdb": "main_db",
      "Main.duckdb": "Main_db",
      "System.duckdb": "System_db",
      "TEMP.duckdb": "TEMP_db",
      "pg_catalog.duckdb": "pg_catalog",
      "information_schema.duckdb": "information_schema",
      "my.data.duckdb": "my",
    };
    for (const [file, catalog] of Object.entries(names)) {
      const dir = tempDir();
      expect(await rowGroupsAfterInsert(join(dir, file), 32_768)).toEqual({ catalog, rowGroups: 2 });
      // Opened again (read-only, DuckDB's row group size), the file holds the table.
      const direct = await openDatabase(join(dir, file), { create: false, lockTimeoutMs: 0, readOnly: true, memoryLimit: "128MB" });
      try {
        expect(await (await Session.of(direct)).all("SELECT count(*) AS n FROM t")).toEqual([{ n: "40000" }]);
      } finally {
        direct.close();
      }
    }
  });

  test("a file that is not a DuckDB database is refused and left unchanged", async () => {
    const file = join(tempDir(), "notes.duckdb");
    await Bun.write(file, "not a database");
    await expect(openDatabase(file, { create: true, lockTimeoutMs: 0, memoryLimit: "128MB", rowGroupSize: 32_768 })).rejects.toThrow(
      /is not a DuckDB database file/,
    );
    expect(await Bun.file(file).text()).toBe("not a database");
  });
});
