// `DIR/<dataset>/_manifest.json`: what the folder's Parquet files hold, per table. Read back by
// the next export to tell unchanged tables, and written last, atomically (temp file + rename).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RestloadError } from "../errors.ts";
import { writeFileAtomically } from "./files.ts";

export interface ManifestTable {
  /** The table's Parquet files, relative to its folder. */
  readonly files: readonly string[];
  readonly rows: number;
  /** The distinct `_rl_load_id`s of its rows, in order. */
  readonly load_ids: readonly string[];
  /** Row count, content hash and columns when exported: equal on the next export means nothing to write. */
  readonly fingerprint: string;
  /** When its files were written (ISO 8601). */
  readonly exported_at: string;
}

export interface Manifest {
  readonly version: 1;
  readonly dataset: string;
  readonly database: string;
  readonly export_id: string;
  readonly exported_at: string;
  readonly tables: Readonly<Record<string, ManifestTable>>;
}

export const manifestName = "_manifest.json";

/** The manifest of `datasetDir`, or null when there is none yet. */
export function readManifest(datasetDir: string): Manifest | null {
  const file = join(datasetDir, manifestName);
  if (!existsSync(file)) return null;
  try {
    const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    if (manifest.version !== 1 || typeof manifest.tables !== "object") throw new Error("not a manifest of version 1");
    return manifest;
  } catch (error) {
    throw new RestloadError("E_IO", `Cannot read the export manifest "${file}": ${String((error as Error).message)}`, {
      hint: "Remove the export folder of the dataset (or the manifest) to export every table again.",
      context: { file },
      cause: error,
    });
  }
}

export function writeManifest(datasetDir: string, manifest: Manifest): void {
  writeFileAtomically(join(datasetDir, manifestName), `${JSON.stringify(manifest, null, 2)}\n`);
}
