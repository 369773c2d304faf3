// `restload export`: the dataset's tables as Parquet, one folder per table under `DIR/<dataset>/`
// (layout.ts), each a generation swapped in atomically (generations.ts). Steps: take the folder's
// export lock; remove what dead exports left; read the database (read.ts: decide per table, COPY
// what changed into a temp folder) and release it; publish each changed table; unpublish tables
// gone from the dataset; write the manifest; record the export in `_rl_exports` (record.ts).
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RestloadError } from "../errors.ts";
import type { CrashPointHook } from "../run/crash-points.ts";
import { takeLock } from "../state/file-lock.ts";
import {
  currentGeneration,
  type Generation,
  type GenerationFile,
  publishedTables,
  publishGeneration,
  removeUnreachable,
  unpublishTable,
} from "./generations.ts";
import { lockPath, manifestName, partName, storeDir, tableFolder, tempName } from "./layout.ts";
import { type Manifest, manifestTable, writeManifest } from "./manifest.ts";
import { type ReadTable, readTables } from "./read.ts";
import { recordExport } from "./record.ts";

export interface ExportRequest {
  readonly database: string;
  readonly dataset: string;
  /** The export root; the dataset's folder is `<dir>/<dataset>`. */
  readonly dir: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  /** The pipeline's `system_prefix` (which columns hold load ids and row ids). */
  readonly systemPrefix: string;
  readonly inScope: (table: string) => boolean;
  /** The run that triggered the export (`[export] dir`), recorded in `_rl_exports`; null for `restload export`. */
  readonly runId: string | null;
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
  readonly datasetFound: boolean;
  readonly tables: readonly ExportedTable[];
  readonly manifest: string;
  readonly files_written: number;
  readonly rows_written: number;
  readonly bytes_written: number;
  /** Why the export could not be recorded in `_rl_exports` (the files are published); null when it was. */
  readonly recordError: string | null;
}

export async function exportDataset(request: ExportRequest): Promise<ExportResult> {
  const startedAt = new Date();
  const exportId = `${startedAt.toISOString().replace(/[-:.]/g, "")}-${process.pid}`;
  const datasetDir = resolve(request.dir, request.dataset);
  let published: Omit<ExportResult, "recordError">;
  try {
    published = await publish(request, datasetDir, exportId, startedAt);
  } catch (error) {
    const failure = error instanceof RestloadError ? error : folderError(error, datasetDir);
    // A locked database would refuse the record too, after another wait: nothing is recorded then.
    if (failure.code !== "E_LOCKED") await record(request, exportId, startedAt, datasetDir, null, failure.message).catch(() => {});
    throw failure;
  }
  if (!published.datasetFound) return { ...published, recordError: null };
  const recordError = await record(request, exportId, startedAt, datasetDir, published, null).then(
    () => null,
    (error: unknown) => String((error as Error).message),
  );
  return { ...published, recordError };
}

// internal

async function publish(request: ExportRequest, datasetDir: string, exportId: string, startedAt: Date) {
  mkdirSync(storeDir(datasetDir), { recursive: true });
  const release = await takeLock(lockPath(datasetDir), request.dataset);
  try {
    removeUnreachable(datasetDir);
    const tempDir = join(storeDir(datasetDir), tempName(process.pid, startedAt.getTime()));
    mkdirSync(tempDir);
    try {
      const previous = new Map<string, Generation | null>();
      const generationOf = (table: string) => {
        if (!previous.has(table)) previous.set(table, currentGeneration(datasetDir, table));
        return previous.get(table) ?? null;
      };
      const read = await readTables({ ...request, tempDir, previous: generationOf });
      for (const table of read.tables) if (table.written !== null) request.onCrashPoint?.("export_copied", table.table);
      const exportedAt = new Date().toISOString();
      const out: ExportedTable[] = [];
      for (const table of read.tables) {
        out.push(publishTable(datasetDir, tempDir, table, generationOf(table.table), exportedAt));
        if (table.written !== null) request.onCrashPoint?.("export_published", table.table);
      }
      // Published tables gone from the dataset (dropped) are unpublished; out of scope they stay as they are.
      const read_ = new Set(read.tables.map((table) => table.table));
      for (const table of publishedTables(datasetDir)) {
        if (read_.has(table) || !request.inScope(table)) continue;
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
      writeManifest(datasetDir, manifest);
      const written = out.filter((table) => table.file !== null);
      return {
        export_id: exportId,
        dir: datasetDir,
        datasetFound: read.datasetFound,
        tables: out,
        manifest: join(datasetDir, manifestName),
        files_written: written.length,
        rows_written: written.reduce((sum, table) => sum + table.rows_written, 0),
        bytes_written: written.reduce((sum, table) => sum + table.bytes_written, 0),
      };
    } finally {
      rmSync(tempDir, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

/** Publishes one table's new generation (an append or a rewrite), or nothing when it is unchanged. */
function publishTable(
  datasetDir: string,
  tempDir: string,
  table: ReadTable,
  previous: Generation | null,
  exportedAt: string,
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
  const carried = append ? previous.files : [];
  const next: Generation = {
    version: 1,
    table: table.table,
    generation: (previous?.generation ?? 0) + 1,
    columns: table.columns,
    files: [...carried, file],
    next_part: part + 1,
    published_at: exportedAt,
  };
  publishGeneration(datasetDir, next, previous, carried, { temp: table.written.temp, file }, tempDir);
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
  result: Omit<ExportResult, "recordError"> | null,
  error: string | null,
): Promise<void> {
  return recordExport(request, {
    export_id: exportId,
    run_id: request.runId,
    started_at: startedAt,
    finished_at: new Date(),
    status: error === null ? "ok" : "failed",
    dir: datasetDir,
    tables_written: result?.tables.filter((table) => table.status === "appended" || table.status === "rewritten").length ?? 0,
    tables_unchanged: result?.tables.filter((table) => table.status === "unchanged").length ?? 0,
    files_written: result?.files_written ?? 0,
    rows_written: result?.rows_written ?? 0,
    bytes_written: result?.bytes_written ?? 0,
    error,
  });
}

/** A file-system failure of the export folder, with what to do. */
function folderError(error: unknown, datasetDir: string): RestloadError {
  const code = (error as { code?: string }).code;
  return new RestloadError("E_IO", `Cannot write the export folder "${datasetDir}": ${String((error as Error).message)}`, {
    hint:
      code === "EACCES" || code === "EROFS" || code === "ENOTDIR" || code === "EEXIST"
        ? "Make the folder a writable directory for this user (or choose another with --to / [export] dir); the previous export stays as it was."
        : "Check the folder and the disk (free space, mount); the previous export stays as it was, and the next export starts over.",
    context: { file: datasetDir },
    cause: error,
  });
}
