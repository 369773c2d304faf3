// `DIR/<dataset>/_manifest.json`: what each table folder holds now, for people and for engines
// that prefer a list of files to a glob. Written last by every export, atomically (temp file +
// rename). The truth for the next export is each table's generation JSON, not this file: an export
// killed after publishing some tables leaves a manifest one export old, which the next one rewrites.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomically } from "./files.ts";
import type { Column, Generation } from "./generations.ts";
import { generationLink, manifestName } from "./layout.ts";

export interface ManifestTable {
  /** The table's folder, relative to the manifest: `<table>`. */
  readonly path: string;
  readonly generation: number;
  readonly rows: number;
  /** The distinct `_rl_load_id`s of its rows, in order. */
  readonly load_ids: readonly string[];
  readonly columns: readonly Column[];
  /**
   * Its Parquet files with their rows and load ids: `name` in the table folder, and `path` relative
   * to the manifest inside the generation, which never changes (a reader working from the manifest
   * opens these even after later exports swapped the folder, until the generation is removed).
   */
  readonly files: readonly {
    readonly name: string;
    readonly path: string;
    readonly rows: number;
    readonly bytes: number;
    readonly load_ids: readonly string[];
  }[];
  /** When its current set was published (ISO 8601). */
  readonly exported_at: string;
}

export interface Manifest {
  readonly version: 2;
  readonly dataset: string;
  readonly export_id: string;
  readonly exported_at: string;
  readonly tables: Readonly<Record<string, ManifestTable>>;
}

/** The manifest entry of a published generation. */
export function manifestTable(generation: Generation): ManifestTable {
  const loadIds = [...new Set(generation.files.flatMap((file) => file.load_ids))].filter((id) => id !== "").sort();
  return {
    path: generation.table,
    generation: generation.generation,
    rows: generation.files.reduce((sum, file) => sum + file.rows, 0),
    load_ids: loadIds,
    columns: generation.columns,
    files: generation.files.map(({ name, rows, bytes, load_ids }) => ({
      name,
      path: join(generationLink(generation.table, generation.generation), name),
      rows,
      bytes,
      load_ids: load_ids.filter((id) => id !== ""),
    })),
    exported_at: generation.published_at,
  };
}

/** Writes the manifest through a temp file in `tempDir` (inside `.restload/`, so a killed export leaves nothing beside the tables). */
export function writeManifest(datasetDir: string, manifest: Manifest, tempDir: string): void {
  writeFileAtomically(join(datasetDir, manifestName), `${JSON.stringify(manifest, null, 2)}\n`, tempDir);
}

/**
 * The generations the manifest in place names, as `<table>/<generation>`: they are kept while it
 * names them, so a reader working from an older manifest (an export failed or was killed before
 * writing its own) never finds its files gone. Empty when there is no readable manifest.
 */
export function manifestGenerations(datasetDir: string): Set<string> {
  try {
    const manifest = JSON.parse(readFileSync(join(datasetDir, manifestName), "utf8")) as Partial<Manifest>;
    return new Set(Object.entries(manifest.tables ?? {}).map(([table, entry]) => `${table}/${entry.generation}`));
  } catch {
    return new Set();
  }
}
