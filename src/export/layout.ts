// Where an export keeps what inside `DIR/<dataset>/`. Readers see only the table folders and the
// manifest; everything restload needs besides lives under the hidden `.restload/`:
//
//   DIR/<dataset>/_manifest.json
//   DIR/<dataset>/<table>                 -> .restload/tables/<table>/<generation>   (a relative symlink)
//   DIR/<dataset>/.restload/tables/<table>/<generation>/part-<n>.parquet
//   DIR/<dataset>/.restload/tables/<table>/<generation>.json        (what the generation holds)
//   DIR/<dataset>/.restload/tmp-<pid>-<ms>/                         (files being written)
//   DIR/<dataset>/.restload/lock                                    (one export of the folder at a time)
//   DIR/<dataset>/.restload/source.json                             (the database the folder is the export of)
import { join, resolve } from "node:path";

export const storeName = ".restload";

/** The manifest, beside the table folders. */
export const manifestName = "_manifest.json";

/** The dataset's export folder: `DIR/<dataset>`, absolute. */
export function datasetFolder(dir: string, dataset: string): string {
  return resolve(dir, dataset);
}

export function storeDir(datasetDir: string): string {
  return join(datasetDir, storeName);
}

export function lockPath(datasetDir: string): string {
  return join(storeDir(datasetDir), "lock");
}

/** Which database the folder is the export of: two databases publishing one folder would undo each other. */
export function sourcePath(datasetDir: string): string {
  return join(storeDir(datasetDir), "source.json");
}

/** The folder holding every generation of `table`. */
export function tableStore(datasetDir: string, table: string): string {
  return join(tablesStore(datasetDir), table);
}

/** The parent of every table's generations. */
export function tablesStore(datasetDir: string): string {
  return join(storeDir(datasetDir), "tables");
}

/** A generation's folder name: zero-padded so names sort in order. */
export function generationName(generation: number): string {
  return String(generation).padStart(6, "0");
}

/** The symlink target of a table folder: relative, so the export folder can be moved or mounted elsewhere. */
export function generationLink(table: string, generation: number): string {
  return join(storeName, "tables", table, generationName(generation));
}

/** The table folder readers glob: `DIR/<dataset>/<table>`. */
export function tableFolder(datasetDir: string, table: string): string {
  return join(datasetDir, table);
}

/** A Parquet file's name; numbers are never reused within a table, so a name always means one content. */
export function partName(part: number): string {
  return `part-${String(part).padStart(6, "0")}.parquet`;
}

/** A table's Parquet file while it is written: a name no `*.parquet` glob matches. */
export function partialName(table: string): string {
  return `${table}.parquet.partial`;
}

/** A temp folder's name, with the pid of the export writing it. */
export function tempName(pid: number, now: number): string {
  return `tmp-${pid}-${now}`;
}
