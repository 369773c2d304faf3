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
// just before the swap may still be opening its files, or reads the manifest naming it), which
// removes those the manifest no longer names, with the temp folders of exports that died.
import {
  existsSync,
  linkSync,
  lstatSync,
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
import { makeFolder, publishFile, writeFileAtomically } from "./files.ts";
import { generationLink, generationName, storeDir, storeName, tableFolder, tablesStore, tableStore } from "./layout.ts";
import { manifestGenerations } from "./manifest.ts";

export interface GenerationFile {
  readonly name: string;
  readonly rows: number;
  /** The distinct load ids of its rows (a child row's is its root row's), in order; "" stands for rows without one. */
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

/** The moments of publishing a generation a crash test may stop at. */
export type PublishStep = "export_linked" | "export_described";

/** The generation `DIR/<dataset>/<table>` points to, or null when the table was never exported here. */
export function currentGeneration(datasetDir: string, table: string): Generation | null {
  const number = linkedGeneration(datasetDir, table);
  if (number === null) return null;
  const file = generationFile(datasetDir, table, number);
  try {
    const generation = JSON.parse(readFileSync(file, "utf8")) as Generation;
    if (generation.version !== 1 || generation.generation !== number || !Array.isArray(generation.files))
      throw new Error("not the generation the table folder points to");
    return generation;
  } catch (error) {
    throw new RestloadError("E_IO", `Cannot read "${file}", which says what table "${table}" holds: ${String((error as Error).message)}`, {
      hint: `Remove ${datasetDir} to export every table again (the database is the source; nothing is lost).`,
      context: { file },
      cause: error,
    });
  }
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
 * Publishes `next` as the table's current generation: its folder gets the files of `previous` it
 * keeps as hard links and `added` (a temp file) by rename, its JSON is written, and the table's
 * symlink is swapped to it in one rename(2).
 */
export function publishGeneration(
  datasetDir: string,
  next: Generation,
  previous: Generation | null,
  added: { readonly temp: string; readonly file: GenerationFile },
  tempDir: string,
  reached: (step: PublishStep) => void,
): void {
  const store = tableStore(datasetDir, next.table);
  const folder = join(store, generationName(next.generation));
  makeFolder(store);
  // A folder of this number can only be left by an export that died before swapping it in.
  rmSync(folder, { recursive: true, force: true });
  makeFolder(folder);
  const kept = next.files.filter((file) => file.name !== added.file.name);
  if (kept.length > 0 && previous === null) throw new Error("kept files need a previous generation");
  for (const file of kept) linkSync(join(store, generationName(previous?.generation ?? 0), file.name), join(folder, file.name));
  publishFile(added.temp, join(folder, added.file.name));
  reached("export_linked");
  writeFileAtomically(generationFile(datasetDir, next.table, next.generation), `${JSON.stringify(next, null, 2)}\n`, tempDir);
  reached("export_described");
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
 * Removes what no reader can reach any more: temp folders (of this folder's earlier exports, all
 * finished or dead since this one holds the lock) and every generation neither a table folder
 * points to nor the manifest names.
 */
export function removeUnreachable(datasetDir: string): void {
  const store = storeDir(datasetDir);
  if (!existsSync(store)) return;
  for (const entry of readdirSync(store)) if (entry.startsWith("tmp-")) rmSync(join(store, entry), { recursive: true, force: true });
  const tables = tablesStore(datasetDir);
  if (!existsSync(tables)) return;
  const named = manifestGenerations(datasetDir);
  for (const table of readdirSync(tables)) {
    const current = linkedGeneration(datasetDir, table);
    const reachable = (generation: number) => generation === current || named.has(`${table}/${generation}`);
    for (const entry of readdirSync(join(tables, table))) {
      const generation = /^(\d+)(\.json)?$/.exec(entry);
      if (generation === null || !reachable(Number(generation[1]))) rmSync(join(tables, table, entry), { recursive: true, force: true });
    }
    if (readdirSync(join(tables, table)).length === 0) rmSync(join(tables, table), { recursive: true, force: true });
  }
}

// internal

function generationFile(datasetDir: string, table: string, generation: number): string {
  return `${join(tableStore(datasetDir, table), generationName(generation))}.json`;
}

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
