// A table's published Parquet set is a *generation*: a folder of part files under
// `.restload/tables/<table>/` and a JSON file saying what it holds. The table folder readers glob,
// `DIR/<dataset>/<table>`, is a symlink to the current generation, replaced by one rename(2):
// a reader listing the folder lists the old generation or the new one, whole.
//
// An append carries the previous generation's files into the new one as hard links (same names,
// same inodes, no copy) and adds one file; a rewrite starts with no files. Part numbers are never
// reused, so a reader that listed the old generation and opens a name after the swap gets the same
// file (an append) or none (a rewrite: the query fails and is retried), never another content.
//
// Superseded generations stay until the next export of the folder (a reader that listed one
// just before the swap may still be opening its files), which removes them with the temp folders
// of exports that died.
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { basename, join } from "node:path";
import { RestloadError } from "../errors.ts";
import { fsyncDir } from "../util/fsync-dir.ts";
import { fsyncFile, writeFileAtomically } from "./files.ts";
import { generationLink, generationName, manifestName, storeDir, storeName, tableFolder, tableStore } from "./layout.ts";

export interface GenerationFile {
  readonly name: string;
  readonly rows: number;
  /** The distinct `_rl_load_id`s of its rows, in order ("" stands for rows without one). */
  readonly load_ids: readonly string[];
  /** The sum of its rows' hashes (a decimal integer): equal sums mean unchanged rows. */
  readonly hash: string;
  readonly bytes: number;
}

export interface Column {
  readonly name: string;
  readonly type: string;
}

export interface Generation {
  readonly version: 1;
  readonly table: string;
  readonly generation: number;
  readonly columns: readonly Column[];
  readonly files: readonly GenerationFile[];
  /** The number the table's next part file gets. */
  readonly next_part: number;
  /** When this generation was published (ISO 8601). */
  readonly published_at: string;
}

/** The generation `DIR/<dataset>/<table>` points to, or null when the table was never exported here. */
export function currentGeneration(datasetDir: string, table: string): Generation | null {
  const number = linkedGeneration(datasetDir, table);
  if (number === null) return null;
  const file = `${join(tableStore(datasetDir, table), generationName(number))}.json`;
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")) as Generation;
}

/** The tables with a published folder (a symlink into the store) in `datasetDir`. */
export function publishedTables(datasetDir: string): string[] {
  if (!existsSync(datasetDir)) return [];
  return readdirSync(datasetDir)
    .filter((entry) => {
      try {
        return lstatSync(tableFolder(datasetDir, entry)).isSymbolicLink() && linkedGeneration(datasetDir, entry) !== null;
      } catch {
        return false; // A symlink of someone else's: not a table.
      }
    })
    .sort();
}

/**
 * Publishes `next` as the table's current generation: its folder gets the `carried` files of
 * `previous` as hard links and `added` (a flushed temp file) by rename, its JSON is written, and the
 * table's symlink is swapped to it in one rename(2).
 */
export function publishGeneration(
  datasetDir: string,
  next: Generation,
  previous: Generation | null,
  carried: readonly GenerationFile[],
  added: { readonly temp: string; readonly file: GenerationFile },
  tempDir: string,
): void {
  const store = tableStore(datasetDir, next.table);
  const folder = join(store, generationName(next.generation));
  mkdirSync(store, { recursive: true });
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  for (const file of carried) {
    if (previous === null) throw new Error("carried files need a previous generation");
    linkSync(join(store, generationName(previous.generation), file.name), join(folder, file.name));
  }
  fsyncFile(added.temp);
  renameSync(added.temp, join(folder, added.file.name));
  fsyncDir(folder);
  writeFileAtomically(`${folder}.json`, `${JSON.stringify(next, null, 2)}\n`);
  // The new symlink is made aside (in the temp folder, same file system) and renamed over the old one.
  const link = join(tempDir, `${next.table}.link`);
  symlinkSync(generationLink(next.table, next.generation), link);
  renameSync(link, tableFolder(datasetDir, next.table));
  fsyncDir(datasetDir);
}

/** Removes a table's folder (its symlink) in one unlink; its generations go with the next export's clean-up. */
export function unpublishTable(datasetDir: string, table: string): void {
  unlinkSync(tableFolder(datasetDir, table));
  fsyncDir(datasetDir);
}

/**
 * Removes what no reader can reach any more: temp files and folders (of this folder's earlier
 * exports, all finished or dead since this one holds the lock) and every generation a table folder
 * does not point to. Returns how many entries were removed.
 */
export function removeUnreachable(datasetDir: string): number {
  const store = storeDir(datasetDir);
  if (!existsSync(store)) return 0;
  let removed = 0;
  for (const entry of readdirSync(datasetDir)) {
    if (!entry.startsWith(`${manifestName}.tmp-`)) continue;
    rmSync(join(datasetDir, entry), { force: true });
    removed++;
  }
  for (const entry of readdirSync(store)) {
    if (!entry.startsWith("tmp-")) continue;
    rmSync(join(store, entry), { recursive: true, force: true });
    removed++;
  }
  const tables = join(store, "tables");
  if (!existsSync(tables)) return removed;
  for (const table of readdirSync(tables)) {
    const current = linkedGeneration(datasetDir, table);
    const keep = current === null ? null : generationName(current);
    for (const entry of readdirSync(join(tables, table))) {
      if (keep !== null && (entry === keep || entry === `${keep}.json`)) continue;
      rmSync(join(tables, table, entry), { recursive: true, force: true });
      removed++;
    }
    if (keep === null) rmSync(join(tables, table), { recursive: true, force: true });
  }
  return removed;
}

// internal

/** The generation number a table folder's symlink names; null when there is none. Anything else there is refused. */
function linkedGeneration(datasetDir: string, table: string): number | null {
  const folder = tableFolder(datasetDir, table);
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(folder);
  } catch {
    return null;
  }
  const prefix = join(storeName, "tables", table);
  const target = stat.isSymbolicLink() ? readlinkSync(folder) : "";
  if (!target.startsWith(`${prefix}/`) || !/^\d+$/.test(basename(target))) {
    throw new RestloadError("E_IO", `"${folder}" is not a table folder restload published`, {
      hint: `An export publishes each table as a symlink into ${join(datasetDir, storeName)}; move "${folder}" away (or remove ${datasetDir} to export everything again).`,
      context: { file: folder },
    });
  }
  return Number(basename(target));
}
