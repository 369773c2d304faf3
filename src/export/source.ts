// Which database a dataset's export folder belongs to. Two databases publishing the same dataset to
// one folder (two pipelines with the same dataset name, a copy of the database) would each remove
// the other's tables and rewrite everything on every export: the second is refused instead.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { RestloadError } from "../errors.ts";
import { writeFileAtomically } from "./files.ts";
import { sourcePath } from "./layout.ts";

/**
 * Refuses a folder that is the export of another database; returns the claim to make once there is
 * something to publish (the first export writes which database the folder belongs to).
 */
export function claimFolder(datasetDir: string, database: string): (tempDir: string) => void {
  const file = sourcePath(datasetDir);
  const ours = resolve(database);
  if (!existsSync(file)) return (tempDir) => writeFileAtomically(file, `${JSON.stringify({ database: ours }, null, 2)}\n`, tempDir);
  let theirs: unknown;
  try {
    theirs = (JSON.parse(readFileSync(file, "utf8")) as { database?: unknown }).database;
  } catch {
    theirs = undefined;
  }
  if (theirs !== ours)
    throw new RestloadError("E_CONFIG", `"${datasetDir}" is the export of another database (${String(theirs)}), not of ${ours}`, {
      hint: `Export each database to its own folder (--to or [export] dir), or give the pipelines different datasets. If the database moved, remove ${file} and export again.`,
      context: { file: datasetDir },
    });
  return () => {};
}
