// `restload export`: the dataset's tables as Parquet under `DIR/<dataset>/<table>/data.parquet`.
//
// Atomic for readers: each table is one file, written to a temp folder inside `DIR/<dataset>/`
// (named `.tmp-…`, so no `*.parquet` glob of a table folder matches it), flushed, then renamed over
// the table's `data.parquet` in one rename(2). A reader globbing the folder sees the old complete
// file or the new one, never both or a partial one. Unchanged tables (same row count and content
// hash as the manifest says) write nothing. The manifest is written last, atomically too.
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { processAlive } from "../util/process-alive.ts";
import { publishFile } from "./files.ts";
import { type Manifest, type ManifestTable, readManifest, writeManifest } from "./manifest.ts";
import { readTables } from "./read.ts";

/** The one file of a table's folder. */
export const tableFile = "data.parquet";

export interface ExportRequest {
  readonly database: string;
  readonly dataset: string;
  /** The export root; the dataset's folder is `<dir>/<dataset>`. */
  readonly dir: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  readonly inScope: (table: string) => boolean;
}

export interface ExportedTable {
  readonly table: string;
  readonly rows: number;
  /** "written" (a new file), "unchanged" (nothing written) or "removed" (gone from the dataset). */
  readonly status: "written" | "unchanged" | "removed";
  readonly file: string;
}

export interface ExportResult {
  readonly export_id: string;
  readonly dir: string;
  readonly datasetFound: boolean;
  readonly tables: readonly ExportedTable[];
  readonly manifest: string;
}

export async function exportDataset(request: ExportRequest): Promise<ExportResult> {
  const datasetDir = resolve(request.dir, request.dataset);
  mkdirSync(datasetDir, { recursive: true });
  removeAbandonedTempDirs(datasetDir);
  const previous = readManifest(datasetDir);
  const now = new Date();
  const exportId = `${now.toISOString().replace(/[-:.]/g, "")}-${process.pid}`;
  const tempDir = join(datasetDir, `.tmp-${process.pid}-${now.getTime()}`);
  mkdirSync(tempDir);
  try {
    const read = await readTables({
      ...request,
      tempDir,
      previous: (table) => {
        const entry = previous?.tables[table];
        return entry !== undefined && existsSync(join(datasetDir, table, tableFile)) ? entry.fingerprint : undefined;
      },
    });
    const exportedAt = now.toISOString();
    const tables: Record<string, ManifestTable> = {};
    const out: ExportedTable[] = [];
    for (const table of read.tables) {
      const folder = join(datasetDir, table.table);
      const target = join(folder, tableFile);
      if (table.written !== null) {
        mkdirSync(folder, { recursive: true });
        publishFile(table.written, target);
      }
      const kept = previous?.tables[table.table];
      tables[table.table] = {
        files: [tableFile],
        rows: table.rows,
        load_ids: table.load_ids,
        fingerprint: table.fingerprint,
        exported_at: table.written === null && kept !== undefined ? kept.exported_at : exportedAt,
      };
      out.push({ table: table.table, rows: table.rows, status: table.written === null ? "unchanged" : "written", file: target });
    }
    // Tables of the previous export: out of scope they stay as they were; in scope but gone from the dataset (dropped) they go.
    for (const [name, entry] of Object.entries(previous?.tables ?? {})) {
      if (name in tables) continue;
      if (!request.inScope(name)) {
        tables[name] = entry;
        continue;
      }
      removeTableFolder(join(datasetDir, name));
      out.push({ table: name, rows: 0, status: "removed", file: join(datasetDir, name, tableFile) });
    }
    const manifest: Manifest = {
      version: 1,
      dataset: request.dataset,
      database: resolve(request.database),
      export_id: exportId,
      exported_at: exportedAt,
      tables: Object.fromEntries(Object.entries(tables).sort(([a], [b]) => a.localeCompare(b))),
    };
    writeManifest(datasetDir, manifest);
    return {
      export_id: exportId,
      dir: datasetDir,
      datasetFound: read.datasetFound,
      tables: out,
      manifest: join(datasetDir, "_manifest.json"),
    };
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

// internal

/** Temp folders of exports that died (kill -9) before removing them. */
function removeAbandonedTempDirs(datasetDir: string): void {
  for (const entry of readdirSync(datasetDir)) {
    const match = /^\.tmp-(\d+)-\d+$/.exec(entry);
    if (match && !processAlive(Number(match[1]))) rmSync(join(datasetDir, entry), { recursive: true, force: true });
  }
}

function removeTableFolder(folder: string): void {
  const file = join(folder, tableFile);
  if (existsSync(file)) unlinkSync(file);
  try {
    rmdirSync(folder);
  } catch {
    // Not empty: files someone else put there stay.
  }
}
