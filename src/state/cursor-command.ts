// What `restload state` does to the database: list, reset and seed cursors.
import { openDatabase } from "../db/open.ts";
import { Session } from "../db/session.ts";
import type { Plan } from "../plan/index.ts";
import { type CursorRow, deleteCursors, listCursors, writeCursor } from "./cursors.ts";
import { ensureSystemTables } from "./system-tables.ts";

export interface CursorStore {
  list(): Promise<CursorRow[]>;
  reset(resource: string): Promise<number>;
  set(resource: string, cursorPath: string, value: unknown): Promise<void>;
}

/** Opens the pipeline's database (never creating it) for `work`, then closes it. */
export async function withCursors<T>(plan: Plan, lockTimeoutMs: number, work: (store: CursorStore) => Promise<T>): Promise<T> {
  const database = await openDatabase(plan.database, { create: false, lockTimeoutMs, memoryLimit: plan.duckdb_memory_limit });
  try {
    const session = await Session.of(database);
    await ensureSystemTables(session, plan.dataset);
    return await work({
      list: () => listCursors(session, plan.dataset, plan.pipeline),
      reset: (resource) => session.transaction(() => deleteCursors(session, plan.dataset, plan.pipeline, resource)),
      set: (resource, cursorPath, value) =>
        session.transaction(() =>
          writeCursor(session, plan.dataset, {
            pipeline: plan.pipeline,
            resource,
            parentKey: "",
            cursorPath,
            loadId: "set by restload state",
            value: { lastValue: value, boundaryKeys: [] },
          }),
        ),
    });
  } finally {
    database.close();
  }
}
