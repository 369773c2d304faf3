// Opens a DuckDB file with hardened settings, waiting while another process holds its lock.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import dataAccessors from "@duckdb/node-api/lib/vectors/dataAccessors.js";
import { RestloadError, messageOf } from "../errors.ts";
import { describeLockHolder, isLockConflict } from "./lock-holder.ts";

// @duckdb/node-api decodes every text value with a default TextDecoder, which drops a leading
// U+FEFF: a value read back ("\uFEFFb") came out as "b". Values are read as they are stored.
(dataAccessors as { textDecoder: TextDecoder }).textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

export interface OpenOptions {
  /** Create the file when it does not exist (its directory must). Read-only commands pass false. */
  create: boolean;
  /** How long to keep retrying while another process holds the file, in milliseconds. */
  lockTimeoutMs: number;
  /** Open read-only (commands that only look); the file must exist. */
  readOnly?: boolean;
  /** DuckDB worker threads; default: one per core. */
  threads?: number;
  /**
   * DuckDB `memory_limit`, e.g. "128MB": the pipeline's `duckdb_memory_limit`; a command without a
   * pipeline passes the same default (`defaultDuckdbMemoryLimit` of the config schema).
   */
  memoryLimit: string;
  /** Rows per row group of the data written through this connection (DuckDB's ROW_GROUP_SIZE; its default is 122,880). A file only. */
  rowGroupSize?: number;
  /** Injected for tests; defaults to real time. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface Database {
  /** The absolute path of the database file, or `:memory:`. */
  readonly path: string;
  readonly connection: DuckDBConnection;
  /** Closes the connection and the instance; safe to call twice. */
  close(): void;
}

/**
 * The row group size runs write with, instead of DuckDB's 122,880: DuckDB writes each full row
 * group of a unit's rows while extraction goes on, so less waits for COMMIT and less is held in
 * memory (measured over 500,000 records: 295–302 MB peak instead of 357–360 MB; a 50,000-record
 * run ~15% faster).
 */
export const runRowGroupSize = 32_768;

const defaultSleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** The settings of the DuckDB instance a database is opened in (`file`: an absolute path, or `:memory:`). */
export function duckdbSettings(file: string, options: Pick<OpenOptions, "threads" | "memoryLimit">): Record<string, string> {
  const settings: Record<string, string> = {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    memory_limit: options.memoryLimit,
    // Loads order rows by their own sequence column, so DuckDB may reorder and use less memory.
    preserve_insertion_order: "false",
    // DuckDB's allocator keeps freed memory for reuse up to these thresholds (128 MB and 512 MB by
    // default), on top of memory_limit. Returning it sooner: DuckDB alone storing 500,000 records'
    // rows peaked at 288–293 MB instead of 403–415 MB, at the same speed (scripts/bench-duckdb-alone.ts).
    allocator_flush_threshold: "8MB",
    allocator_bulk_deallocation_flush_threshold: "1MB",
    lock_configuration: "true",
  };
  if (file !== ":memory:") settings.temp_directory = `${file}.tmp`;
  if (options.threads !== undefined) settings.threads = String(options.threads);
  return settings;
}

/**
 * Opens `path` (a file, or `:memory:`) read-write. Extension auto-install and auto-load are off and the configuration is
 * locked, so nothing is ever downloaded at run time; spill files go to `<path>.tmp` beside it.
 *
 * @example
 * const db = await openDatabase("github.duckdb", { create: true, lockTimeoutMs: 30_000, memoryLimit: "128MB" });
 * try { await db.connection.run("select 1"); } finally { db.close(); }
 */
export async function openDatabase(path: string, options: OpenOptions): Promise<Database> {
  const inMemory = path === ":memory:";
  const file = inMemory ? path : resolve(path);
  if (!inMemory) checkPath(file, options.create);
  const settings = duckdbSettings(file, options);
  const { instance, connection } = await withLockRetry(file, options, () => openOnce(file, settings, options));
  let open = true;
  return {
    path: file,
    connection,
    close() {
      if (!open) return;
      open = false;
      connection.closeSync();
      instance.closeSync();
    },
  };
}

// internal

export function checkPath(file: string, create: boolean): void {
  if (existsSync(file)) {
    if (!statSync(file).isFile()) {
      throw new RestloadError("E_DB_PATH", `Cannot open database "${file}" as it is not a regular file`, {
        hint: "Give the path of a DuckDB file.",
        context: { file },
      });
    }
    return;
  }
  if (!create) {
    throw new RestloadError("E_DB_PATH", `Cannot open database "${file}" as it does not exist`, {
      hint: "Check the path, or run the pipeline once to create it.",
      context: { file },
    });
  }
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new RestloadError("E_DB_PATH", `Cannot create database "${file}" as its directory "${dir}" does not exist`, {
      hint: "Create the directory first, or give another path.",
      context: { file },
    });
  }
}

/**
 * The catalog name of an attached file: its name up to the first dot, as DuckDB names a file it
 * opens itself; a built-in catalog's name, in any case, gets `_db` (DuckDB itself fails on
 * `System.duckdb` or `Temp.duckdb`).
 */
export function catalogName(file: string): string {
  const stem = basename(file).split(".")[0] || "database";
  return ["main", "memory", "system", "temp"].includes(stem.toLowerCase()) ? `${stem}_db` : stem;
}

/**
 * A file is attached to an in-memory instance and made the default catalog: one way of opening
 * for every command, whatever the file is called, with room for attach options (ROW_GROUP_SIZE).
 */
async function openOnce(
  file: string,
  settings: Record<string, string>,
  options: OpenOptions,
): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  const attach = file !== ":memory:";
  // The in-memory instance itself is writable; READ_ONLY is an option of the attached file.
  const instance = await DuckDBInstance.create(":memory:", settings);
  try {
    const connection = await instance.connect();
    if (attach) {
      await attachFile(connection, file, options);
    }
    return { instance, connection };
  } catch (error) {
    instance.closeSync();
    throw error;
  }
}

/** ATTACHes `file` to the connection's instance (as `options.catalog`, else `catalogName(file)`) and makes it the default catalog. */
export async function attachFile(
  connection: DuckDBConnection,
  file: string,
  options: Pick<OpenOptions, "readOnly" | "rowGroupSize"> & { readonly catalog?: string },
): Promise<void> {
  const name = options.catalog ?? catalogName(file);
  const catalog = `"${name.replaceAll('"', '""')}"`;
  const attachOptions = [
    ...(options.readOnly ? ["READ_ONLY"] : []),
    ...(options.rowGroupSize !== undefined ? [`ROW_GROUP_SIZE ${options.rowGroupSize}`] : []),
  ];
  await connection.run(
    `ATTACH '${file.replaceAll("'", "''")}' AS ${catalog}${attachOptions.length > 0 ? ` (${attachOptions.join(", ")})` : ""}`,
  );
  // Catalog and schema both named: a one-part name could mean a schema of the in-memory catalog (pg_catalog).
  await connection.run(`USE ${catalog}.main`);
  const current = (await connection.runAndReadAll("SELECT current_database()")).getRows()[0]?.[0];
  if (current !== name) throw new Error(`the attached file is not the default catalog (${String(current)} instead of ${name})`);
}

/** Runs `attempt` (an open or an ATTACH) until it is not refused for the file's lock, up to `lockTimeoutMs`; E_LOCKED names the holder. */
export async function withLockRetry<T>(
  file: string,
  options: Pick<OpenOptions, "lockTimeoutMs" | "sleep" | "now">,
  attempt: () => Promise<T>,
): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const deadline = now() + options.lockTimeoutMs;
  let delay = 50;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const message = messageOf(error);
      if (isLockConflict(message)) {
        const left = deadline - now();
        if (left > 0) {
          await sleep(Math.min(delay, left));
          delay = Math.min(delay * 2, 1_000);
          continue;
        }
        const seconds = Math.round(options.lockTimeoutMs / 100) / 10;
        throw new RestloadError(
          "E_LOCKED",
          `Cannot open database "${file}" as ${describeLockHolder(message)} holds it (waited ${seconds} s)`,
          { hint: "Wait for that process to finish, or raise --lock-timeout.", context: { file }, cause: error },
        );
      }
      throw classifyOpenError(file, message, error);
    }
  }
}

export function classifyOpenError(file: string, message: string, cause: unknown): RestloadError {
  if (/not a valid DuckDB database file/i.test(message)) {
    return new RestloadError("E_DB_INVALID", `Cannot open "${file}" as it is not a DuckDB database file`, {
      hint: "Check the path; the file was left unchanged.",
      context: { file },
      cause,
    });
  }
  return new RestloadError("E_DB_OPEN", `Cannot open database "${file}": ${message}`, {
    hint: "Check that the file is readable and writable by this user.",
    context: { file },
    cause,
  });
}
