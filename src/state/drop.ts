// What `restload drop` does to the database: the covered resources' tables (child tables
// included) and cursors, looked at read-only first, then removed in one transaction.
import { openDatabase } from "../db/open.ts";
import { Session } from "../db/session.ts";
import { maxIdentifierLength, shorten } from "../normalize/naming.ts";
import type { Plan, PlannedTable } from "../plan/index.ts";
import { governingTable, plannedTableNamed } from "../plan/tables.ts";
import type { ScopedResource } from "./drop-scope.ts";
import { isSystemTable } from "./system-tables.ts";

export interface DroppedTable {
  readonly table: string;
  readonly rows: number;
}

/** A table the plan gives a resource that the drop leaves, and why (`only pipeline "blog" loaded it`). */
export interface KeptTable {
  readonly table: string;
  readonly reason: string;
}

/** One covered resource and what of it is in the database. */
export interface DropItem extends ScopedResource {
  /**
   * The tables it governs that this pipeline loaded: its table and its child tables (`<table>__*`,
   * or a shortened name of its unit's loads) no other resource governs.
   */
  readonly tables: readonly DroppedTable[];
  /** Tables named as its own that the drop leaves: in a dataset shared by pipelines, another pipeline's. */
  readonly kept: readonly KeptTable[];
  /** Its rows in `_rl_state` (one per parent record for a child resource). */
  readonly cursors: number;
}

/** What `dropResources` did: dropped `items`, or (the dataset changed since the confirmed list) nothing, `items` being what it holds now. */
export interface DropOutcome {
  readonly dropped: boolean;
  readonly items: readonly DropItem[];
}

type DropPlan = Pick<Plan, "database" | "dataset" | "pipeline" | "tables" | "duckdb_memory_limit">;

/** What dropping `scope` would remove, read with the database opened read-only (never created). */
export async function inspectDrop(plan: DropPlan, scope: readonly ScopedResource[], lockTimeoutMs: number): Promise<DropItem[]> {
  const database = await openDatabase(plan.database, {
    create: false,
    readOnly: true,
    lockTimeoutMs,
    memoryLimit: plan.duckdb_memory_limit,
  });
  try {
    return await contents(await Session.of(database), plan, scope);
  } finally {
    database.close();
  }
}

/**
 * Drops the tables and deletes the cursors of `scope` in one transaction: all of it, or (on any
 * failure) nothing. Given `confirmed` (the list the user agreed to), it drops exactly that: when
 * the dataset now holds other tables of these resources, or cursors where there were none or the
 * other way round (a run came in between), it drops nothing and returns what it holds now, to be
 * confirmed again. Given null (`--yes`: no list was confirmed), it drops what it finds.
 */
export async function dropResources(
  plan: DropPlan,
  scope: readonly ScopedResource[],
  lockTimeoutMs: number,
  confirmed: readonly DropItem[] | null,
): Promise<DropOutcome> {
  const database = await openDatabase(plan.database, { create: false, lockTimeoutMs, memoryLimit: plan.duckdb_memory_limit });
  try {
    const session = await Session.of(database);
    return await session.transaction(async () => {
      const items = await contents(session, plan, scope);
      if (confirmed !== null && whatGoes(items) !== whatGoes(confirmed)) return { dropped: false, items };
      for (const item of items) {
        for (const table of item.tables) await session.run(`DROP TABLE ${session.table(plan.dataset, table.table)}`);
      }
      const names = items.filter((item) => item.cursors > 0).map((item) => item.name);
      if (names.length > 0)
        await session.run(
          `DELETE FROM ${session.table(plan.dataset, "_rl_state")} WHERE pipeline = ? AND resource IN (${names.map(() => "?").join(", ")})`,
          [plan.pipeline, ...names],
        );
      return { dropped: true, items };
    });
  } finally {
    database.close();
  }
}

/** Whether a drop found anything to remove. */
export function dropsAnything(items: readonly DropItem[]): boolean {
  return items.some((item) => item.tables.length > 0 || item.cursors > 0);
}

// internal

/** Which tables and whether any cursors go, per resource: row and cursor counts may change between the list and the drop. */
function whatGoes(items: readonly DropItem[]): string {
  return JSON.stringify(items.map((item) => [item.name, item.tables.map((table) => table.table), item.cursors > 0]));
}

async function contents(session: Session, plan: DropPlan, scope: readonly ScopedResource[]): Promise<DropItem[]> {
  const names = (
    await session.all("SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name", [
      session.catalog,
      plan.dataset,
    ])
  ).map((row) => String(row.table_name));
  const cursors = new Map<string, number>();
  if (names.includes("_rl_state") && scope.length > 0) {
    const rows = await session.all(
      `SELECT resource, count(*) AS n FROM ${session.table(plan.dataset, "_rl_state")} WHERE pipeline = ? AND resource IN (${scope.map(() => "?").join(", ")}) GROUP BY resource`,
      [plan.pipeline, ...scope.map((resource) => resource.name)],
    );
    for (const row of rows) cursors.set(String(row.resource), Number(row.n));
  }
  const loaded = await loadedTables(session, plan.dataset, names);
  const claims = names.filter((table) => !isSystemTable(table)).map((table) => claim(plan, table, loaded.get(table)));
  const items: DropItem[] = [];
  for (const resource of scope) {
    const tables: DroppedTable[] = [];
    const kept: KeptTable[] = [];
    for (const found of claims) {
      if (found?.owner.resource !== resource.name) continue;
      if (found.kept !== null) {
        kept.push({ table: found.table, reason: found.kept });
        continue;
      }
      const [count] = await session.all(`SELECT count(*) AS n FROM ${session.table(plan.dataset, found.table)}`);
      tables.push({ table: found.table, rows: Number(count?.n ?? 0) });
    }
    items.push({ ...resource, tables, kept, cursors: cursors.get(resource.name) ?? 0 });
  }
  return items;
}

/** Who loaded a table: every pipeline whose committed loads name it, and the load units of each. */
type Loaders = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Per table, the pipelines (`_rl_runs.pipeline`) and load units whose committed loads wrote rows
 * to it (`rows_by_table`) or created it (`schema_changes`, a table created without rows). Empty
 * when the dataset has no run history.
 */
async function loadedTables(session: Session, dataset: string, names: readonly string[]): Promise<Map<string, Loaders>> {
  const out = new Map<string, Map<string, Set<string>>>();
  if (!names.includes("_rl_loads") || !names.includes("_rl_runs")) return out;
  const loads = session.table(dataset, "_rl_loads");
  const runs = session.table(dataset, "_rl_runs");
  const from = `FROM ${loads} AS l JOIN ${runs} AS r USING (run_id)`;
  // A dataset last written before `schema_changes` was added lacks the column until its next run.
  const [changes] = await session.all(
    "SELECT count(*) AS n FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = '_rl_loads' AND column_name = 'schema_changes'",
    [session.catalog, dataset],
  );
  const rows = await session.all(
    `SELECT DISTINCT r.pipeline, l.unit, w.key AS table_name ${from}, json_each(l.rows_by_table) AS w WHERE l.status = 'committed'${
      Number(changes?.n) > 0
        ? ` UNION SELECT DISTINCT r.pipeline, l.unit, c.value ->> 'table' ${from}, json_each(l.schema_changes) AS c WHERE l.status = 'committed'`
        : ""
    }`,
  );
  for (const row of rows) {
    const table = String(row.table_name);
    const pipelines = out.get(table) ?? new Map<string, Set<string>>();
    out.set(table, pipelines);
    const units = pipelines.get(String(row.pipeline)) ?? new Set<string>();
    pipelines.set(String(row.pipeline), units);
    units.add(String(row.unit));
  }
  return out;
}

interface Claim {
  readonly table: string;
  /** The planned table whose resource the table goes with. */
  readonly owner: PlannedTable;
  /** Why the drop leaves it, or null when it goes. */
  readonly kept: string | null;
}

/**
 * The planned table `table` belongs to, and whether this pipeline loaded it: a table only other
 * pipelines loaded (a shared dataset) or that no run loaded (made by hand) is left. Undefined for
 * a table the plan has no part in.
 */
function claim(plan: DropPlan, table: string, loaders: Loaders | undefined): Claim | undefined {
  const ours = loaders?.get(plan.pipeline);
  const unloaded = (): string => {
    const others = [...(loaders?.keys() ?? [])].filter((pipeline) => pipeline !== plan.pipeline);
    if (others.length > 0) return `only ${others.map((pipeline) => `pipeline "${pipeline}"`).join(" and ")} loaded it`;
    return `no run of pipeline "${plan.pipeline}" loaded it`;
  };
  const exact = plannedTableNamed(plan.tables, table);
  const parents = exact === undefined ? shortenedParents(plan.tables, table) : [];
  if (parents.length === 0) {
    const owner = exact ?? governingTable(plan.tables, table);
    if (owner === undefined) return undefined;
    return { table, owner, kept: ours === undefined ? unloaded() : null };
  }
  // A shortened name tells only the start of its root table: the load unit that wrote it says which.
  const loadedBy = parents.filter((parent) => ours?.has(parent.unit));
  const [first] = loadedBy;
  if (first !== undefined && loadedBy.length === 1) return { table, owner: first, kept: null };
  if (first !== undefined)
    return { table, owner: first, kept: `its shortened name fits tables ${loadedBy.map((parent) => `"${parent.name}"`).join(", ")}` };
  return {
    table,
    owner: parents[0]!,
    kept: ours === undefined ? unloaded() : `pipeline "${plan.pipeline}" loaded it in another load unit`,
  };
}

/**
 * The planned tables whose child tables could be named `table`: a name past 63 characters keeps
 * only its start (`shorten`), so the child of a table of 54 characters or more loses the
 * `<table>__` prefix and keeps the table's own start, then `_` and a hash.
 */
function shortenedParents(tables: readonly PlannedTable[], table: string): PlannedTable[] {
  return tables.filter((planned) => {
    const longChild = shorten(`${planned.name}__${"x".repeat(maxIdentifierLength)}`);
    const start = longChild.slice(0, longChild.lastIndexOf("_"));
    return (
      planned.name.startsWith(start) &&
      table.length === longChild.length &&
      table.startsWith(`${start}_`) &&
      /^[0-9a-f]+$/.test(table.slice(start.length + 1))
    );
  });
}
