// `restload export`: the dataset's tables as Parquet, one folder per table under `DIR/<dataset>/`
// (layout.ts), each a generation swapped in atomically (generations.ts). Steps: take the folder's
// export lock; remove what earlier exports left unreachable; read the database (read.ts: decide per
// table, COPY what changed into a temp folder) and release it; publish each changed table;
// unpublish tables gone from the dataset; write the manifest; record the export in `_rl_exports`.
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { RestloadError, stopSignal } from "../errors.ts";
import type { CrashPointHook } from "../run/crash-points.ts";
import { lockFile, takeLock } from "../state/file-lock.ts";
import { makeFolder } from "./files.ts";
import {
  currentGeneration,
  type Generation,
  type GenerationFile,
  publishedTables,
  publishGeneration,
  removeUnreachable,
  unpublishTable,
} from "./generations.ts";
import { datasetFolder, lockPath, manifestName, partName, storeDir, tableFolder, tempName } from "./layout.ts";
import { type Manifest, manifestTable, writeManifest } from "./manifest.ts";
import { type ReadTable, readTables } from "./read.ts";
import { recordExport } from "./record.ts";
import { claimFolder } from "./source.ts";

export interface ExportRequest {
  readonly database: string;
  readonly dataset: string;
  /** The export root; the dataset's folder is `<dir>/<dataset>`. */
  readonly dir: string;
  /** How long to wait for the database, and for another export of the same folder. */
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  /** The pipeline's `system_prefix` (which columns hold load ids and row ids). */
  readonly systemPrefix: string;
  readonly inScope: (table: string) => boolean;
  /** The run that triggered the export (`[export] dir`), recorded in `_rl_exports`; null for `restload export`. */
  readonly runId: string | null;
  /** Masks the pipeline's secrets in the error stored in `_rl_exports`. */
  readonly redact?: ((text: string) => string) | undefined;
  /** Aborted on SIGTERM/SIGINT: the export stops before its next table (each table folder stays whole). */
  readonly signal?: AbortSignal | undefined;
  /** Told when each crash point passes (tests kill the process there). */
  readonly onCrashPoint?: CrashPointHook | undefined;
}

export interface ExportedTable {
  readonly table: string;
  readonly rows: number;
  /** "appended" (one new file), "rewritten" (a new complete set), "unchanged" (nothing written) or "removed" (gone from the dataset). */
  readonly status: "appended" | "rewritten" | "unchanged" | "removed";
  /** The table folder readers glob. */
  readonly folder: string;
  /** The file written, relative to the folder; null when none. */
  readonly file: string | null;
  readonly rows_written: number;
  readonly bytes_written: number;
}

export interface ExportResult {
  readonly export_id: string;
  /** The dataset's export folder, `DIR/<dataset>`. */
  readonly dir: string;
  /** False when the database has no such dataset yet: nothing was exported, nothing removed. */
  readonly dataset_found: boolean;
  readonly tables: readonly ExportedTable[];
  readonly manifest: string;
  readonly tables_written: number;
  readonly tables_unchanged: number;
  readonly tables_removed: number;
  readonly files_written: number;
  readonly rows_written: number;
  readonly bytes_written: number;
  /** Why the export could not be recorded in `_rl_exports` (the files are published); null when it was. */
  readonly record_error: string | null;
}

type Published = Omit<ExportResult, "record_error">;

export async function exportDataset(request: ExportRequest): Promise<ExportResult> {
  const startedAt = new Date();
  const exportId = `${startedAt.toISOString().replace(/[-:.]/g, "")}-${process.pid}`;
  const datasetDir = datasetFolder(request.dir, request.dataset);
  let published: Published;
  try {
    published = await publish(request, datasetDir, exportId, startedAt);
  } catch (error) {
    const failure = exportFailure(error, datasetDir);
    // A locked database would refuse the record too, after another wait: nothing is recorded then.
    if (failure.code !== "E_LOCKED") await record(request, exportId, startedAt, datasetDir, null, failure.message).catch(() => {});
    throw failure;
  }
  if (!published.dataset_found) return { ...published, record_error: null };
  const recordError = await record(request, exportId, startedAt, datasetDir, published, null).then(
    () => null,
    (error: unknown) => String((error as Error).message),
  );
  return { ...published, record_error: recordError };
}

// internal

async function publish(request: ExportRequest, datasetDir: string, exportId: string, startedAt: Date): Promise<Published> {
  stopIfAsked(request.signal);
  makeFolder(storeDir(datasetDir));
  const release = await takeLock(lockPath(datasetDir), request.dataset, {
    timeoutMs: request.lockTimeoutMs,
    required: true,
    signal: request.signal,
  });
  const tempDir = join(storeDir(datasetDir), tempName(process.pid, startedAt.getTime()));
  const holdsLock = lockKeeper(lockPath(datasetDir));
  try {
    try {
      const claim = claimFolder(datasetDir, request.database);
      removeUnreachable(datasetDir);
      makeFolder(tempDir);
      const previous = new Map<string, Generation | null>();
      const generationOf = (table: string) => {
        if (!previous.has(table)) previous.set(table, currentGeneration(datasetDir, table));
        return previous.get(table) ?? null;
      };
      const read = await readTables({ ...request, tempDir, previous: generationOf });
      // A database without the dataset (not run yet, or another one by mistake) changes nothing here.
      if (!read.datasetFound) return result(exportId, datasetDir, false, []);
      for (const table of read.tables) if (table.written !== null) request.onCrashPoint?.("export_copied", table.table);
      claim(tempDir);
      const exportedAt = new Date().toISOString();
      const out: ExportedTable[] = [];
      for (const table of read.tables) {
        stopIfAsked(request.signal);
        holdsLock();
        out.push(publishTable(request, datasetDir, tempDir, table, generationOf(table.table), exportedAt, holdsLock));
        if (table.written !== null) request.onCrashPoint?.("export_published", table.table);
      }
      // Published tables gone from the dataset (dropped) are unpublished; out of scope they stay as they are.
      const readNames = new Set(read.tables.map((table) => table.table));
      for (const table of publishedTables(datasetDir)) {
        if (readNames.has(table) || !request.inScope(table)) continue;
        holdsLock();
        unpublishTable(datasetDir, table);
        out.push({
          table,
          rows: 0,
          status: "removed",
          folder: tableFolder(datasetDir, table),
          file: null,
          rows_written: 0,
          bytes_written: 0,
        });
      }
      const manifest: Manifest = {
        version: 2,
        dataset: request.dataset,
        export_id: exportId,
        exported_at: exportedAt,
        tables: Object.fromEntries(
          publishedTables(datasetDir).flatMap((table) => {
            const generation = currentGeneration(datasetDir, table);
            return generation === null ? [] : [[table, manifestTable(generation)]];
          }),
        ),
      };
      holdsLock();
      writeManifest(datasetDir, manifest, tempDir);
      return result(exportId, datasetDir, true, out);
    } finally {
      rmSync(tempDir, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

function result(exportId: string, datasetDir: string, found: boolean, tables: readonly ExportedTable[]): Published {
  const written = tables.filter((table) => table.file !== null);
  const count = (status: ExportedTable["status"]) => tables.filter((table) => table.status === status).length;
  return {
    export_id: exportId,
    dir: datasetDir,
    dataset_found: found,
    tables,
    manifest: join(datasetDir, manifestName),
    tables_written: written.length,
    tables_unchanged: count("unchanged"),
    tables_removed: count("removed"),
    files_written: written.length,
    rows_written: written.reduce((sum, table) => sum + table.rows_written, 0),
    bytes_written: written.reduce((sum, table) => sum + table.bytes_written, 0),
  };
}

/** Publishes one table's new generation (an append or a rewrite), or nothing when it is unchanged. */
function publishTable(
  request: ExportRequest,
  datasetDir: string,
  tempDir: string,
  table: ReadTable,
  previous: Generation | null,
  exportedAt: string,
  holdsLock: () => void,
): ExportedTable {
  const rows = [...table.groups.values()].reduce((sum, group) => sum + group.rows, 0);
  const folder = tableFolder(datasetDir, table.table);
  if (table.written === null)
    return { table: table.table, rows, status: "unchanged", folder, file: null, rows_written: 0, bytes_written: 0 };
  const append = table.change.kind === "append" && previous !== null;
  const part = previous?.next_part ?? 1;
  const file: GenerationFile = {
    name: partName(part),
    rows: table.written.loadIds.reduce((sum, id) => sum + (table.groups.get(id)?.rows ?? 0), 0),
    load_ids: table.written.loadIds,
    hash: table.written.loadIds.reduce((sum, id) => sum + BigInt(table.groups.get(id)?.hash ?? "0"), 0n).toString(),
    bytes: statSync(table.written.temp).size,
  };
  const next: Generation = {
    version: 1,
    table: table.table,
    generation: (previous?.generation ?? 0) + 1,
    columns: table.columns,
    files: [...(append ? previous.files : []), file],
    next_part: part + 1,
    published_at: exportedAt,
  };
  publishGeneration(datasetDir, next, previous, { temp: table.written.temp, file }, tempDir, (step) => {
    request.onCrashPoint?.(step, table.table);
    holdsLock(); // Last look before the swap.
  });
  return {
    table: table.table,
    rows,
    status: append ? "appended" : "rewritten",
    folder,
    file: file.name,
    rows_written: file.rows,
    bytes_written: file.bytes,
  };
}

function record(
  request: ExportRequest,
  exportId: string,
  startedAt: Date,
  datasetDir: string,
  result: Published | null,
  error: string | null,
): Promise<void> {
  return recordExport(request, {
    export_id: exportId,
    run_id: request.runId,
    started_at: startedAt,
    finished_at: new Date(),
    status: error === null ? "ok" : "failed",
    dir: datasetDir,
    tables_written: result?.tables_written ?? 0,
    tables_unchanged: result?.tables_unchanged ?? 0,
    files_written: result?.files_written ?? 0,
    rows_written: result?.rows_written ?? 0,
    bytes_written: result?.bytes_written ?? 0,
    error: error === null ? null : (request.redact?.(error) ?? error),
  });
}

/**
 * A check that this export still holds the folder's lock (the same file, as it wrote it). A holder
 * paused past a minute (SIGSTOP, a frozen VM) has its lock taken over as abandoned; when it
 * resumes, it must stop before it swaps anything rather than race the export that took over.
 */
function lockKeeper(path: string): () => void {
  const ours = lockFile(path);
  return () => {
    const now = lockFile(path);
    if (ours !== undefined && now !== undefined && now.ino === ours.ino && now.text === ours.text) return;
    throw new RestloadError("E_LOCKED", `Lost the lock "${path}" to another export while this one was stopped`, {
      hint: "Nothing more was published by this export; the other one publishes the current tables. Export again if needed.",
      context: { file: path },
    });
  };
}

function stopIfAsked(signal: AbortSignal | undefined): void {
  if (signal?.aborted !== true) return;
  const name = stopSignal(signal.reason);
  throw new RestloadError("E_INTERRUPTED", `Export interrupted by ${name}; every table folder holds a whole set`, {
    hint: "Export again: it publishes what this one did not.",
    context: { signal: name },
  });
}

/** The failure as a RestloadError: a system call's (the folder, the disk) with what to do; others as they are. */
function exportFailure(error: unknown, datasetDir: string): RestloadError {
  if (error instanceof RestloadError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^E[A-Z]+$/.test(code))
    return new RestloadError("E_INTERNAL", `Export of "${datasetDir}" failed: ${String((error as Error).message)}`, { cause: error });
  return new RestloadError("E_IO", `Cannot write the export folder "${datasetDir}": ${String((error as Error).message)}`, {
    hint:
      code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ENOTDIR" || code === "EEXIST"
        ? "Make the folder a writable directory for this user (or choose another with --to / [export] dir); every table folder keeps its previous set."
        : "Check the folder and its disk (free space, mount); every table folder keeps its previous set, and the next export completes.",
    context: { file: datasetDir },
    cause: error,
  });
}
