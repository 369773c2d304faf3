// Incremental cursors in `_rl_state`, one row per (pipeline, resource, parent key, cursor path);
// written inside the unit's transaction, so a cursor never moves past rows that did not commit.
import type { Session } from "../db/session.ts";
import { loadCursor, storeCursor } from "../extract/cursor-values.ts";
import type { StoredCursor } from "../extract/incremental.ts";
import { toJson } from "../util/json.ts";
import { isoFromMs } from "../util/time.ts";

export interface CursorRow {
  readonly resource: string;
  readonly parent_key: string;
  readonly cursor_path: string;
  readonly last_value: string;
  readonly value_type: string;
  readonly boundary_keys: number;
  readonly load_id: string | null;
  readonly updated_at: string | null;
}

/** Cursor identity within a pipeline. */
export function cursorKey(resource: string, parentKey: string, cursorPath: string): string {
  return `${resource}\u0000${parentKey}\u0000${cursorPath}`;
}

/** Every stored cursor of the given resources. */
export async function readCursors(
  session: Session,
  dataset: string,
  pipeline: string,
  resources: readonly string[],
): Promise<Map<string, StoredCursor>> {
  const cursors = new Map<string, StoredCursor>();
  if (resources.length === 0) return cursors;
  const rows = await session.all(
    `SELECT resource, parent_key, cursor_path, last_value, value_type, boundary_keys::VARCHAR AS boundary_keys FROM ${session.table(dataset, "_rl_state")} WHERE pipeline = ? AND resource IN (${resources.map(() => "?").join(", ")})`,
    [pipeline, ...resources],
  );
  for (const row of rows) {
    cursors.set(cursorKey(String(row.resource), String(row.parent_key), String(row.cursor_path)), {
      lastValue: loadCursor(String(row.last_value), String(row.value_type)),
      boundaryKeys: JSON.parse(String(row.boundary_keys ?? "[]")) as string[],
    });
  }
  return cursors;
}

/** Stores one cursor (insert or replace); call inside the unit's transaction. */
export async function writeCursor(
  session: Session,
  dataset: string,
  cursor: { pipeline: string; resource: string; parentKey: string; cursorPath: string; loadId: string; value: StoredCursor },
): Promise<void> {
  const stored = storeCursor(cursor.value.lastValue);
  await session.run(`INSERT OR REPLACE INTO ${session.table(dataset, "_rl_state")} VALUES (?, ?, ?, ?, ?, ?, ?::JSON, ?, now())`, [
    cursor.pipeline,
    cursor.resource,
    cursor.parentKey,
    cursor.cursorPath,
    stored.text,
    stored.type,
    toJson(cursor.value.boundaryKeys),
    cursor.loadId,
  ]);
}

/** Deletes the cursors of `resource` (every parent key); returns how many. */
export async function deleteCursors(session: Session, dataset: string, pipeline: string, resource: string): Promise<number> {
  return session.changes(`DELETE FROM ${session.table(dataset, "_rl_state")} WHERE pipeline = ? AND resource = ?`, [pipeline, resource]);
}

/** The stored cursors of a pipeline, for `restload state`. */
export async function listCursors(session: Session, dataset: string, pipeline: string): Promise<CursorRow[]> {
  const rows = await session.all(
    `SELECT resource, parent_key, cursor_path, last_value, value_type, json_array_length(boundary_keys) AS boundary_keys, load_id, epoch_ms(updated_at) AS updated_at
       FROM ${session.table(dataset, "_rl_state")} WHERE pipeline = ? ORDER BY resource, parent_key`,
    [pipeline],
  );
  return rows.map((row) => ({
    resource: String(row.resource),
    parent_key: String(row.parent_key),
    cursor_path: String(row.cursor_path),
    last_value: String(row.last_value),
    value_type: String(row.value_type),
    boundary_keys: Number(row.boundary_keys ?? 0),
    load_id: row.load_id === null ? null : String(row.load_id),
    updated_at: isoFromMs(row.updated_at),
  }));
}
