// merge (delete-insert): a key that comes again in this load replaces the load's earlier row (and
// its child rows) as its segment goes in, so the last record of a key wins; at the end of the unit
// the rows of earlier loads with this load's keys go, with their child rows. No key: as append.
import { quoteIdent, quoteLiteral } from "../../db/session.ts";
import type { PlannedTable } from "../../plan/tables.ts";
import { sequenceColumn } from "../stage.ts";
import { insertSegment } from "./_insert.ts";
import { checkKeyTypes, checkKeys } from "./_keys.ts";
import type { Disposition, SegmentLoad, TableGroup, UnitWrites } from "./types.ts";

export const merge: Disposition = {
  loadSegment(unit, load) {
    const { group, table, segment } = load;
    const primaryKey = group.planned.primary_key;
    // A primary key seen twice in this load: the earlier row of this load makes way.
    const replacing =
      group.keys.duplicates &&
      table.name === group.planned.name &&
      primaryKey.length > 0 &&
      primaryKey.every((key) => segment.columns.includes(key));
    return replacing ? replaceLoaded(unit, load) : insertSegment(unit, load);
  },
  async finish(unit, group) {
    if (mergeKeys(group.planned).length > 0) await mergeEarlier(unit, group);
  },
};

// internal

/** The merge key, else the primary key. */
function mergeKeys(planned: PlannedTable): readonly string[] {
  return planned.merge_key.length > 0 ? planned.merge_key : planned.primary_key;
}

/** A root segment whose keys may repeat rows of this load: those rows (and their child rows) go, then the segment's last record per key comes in. */
async function replaceLoaded(unit: UnitWrites, { group, table, read }: SegmentLoad): Promise<number> {
  const { session, system } = unit;
  const keep = quoteIdent("_rl_keep");
  const primaryKey = group.planned.primary_key;
  const key = primaryKey.map(quoteIdent).join(", ");
  await session.run(
    `CREATE OR REPLACE TEMP TABLE ${keep} AS SELECT * FROM (${read}) QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY ${quoteIdent(sequenceColumn)} DESC) = 1`,
  );
  const rootTable = unit.target(table.name);
  const matches = `t.${quoteIdent(system.loadId)} = ${quoteLiteral(unit.loadId)} AND (${primaryKey.map((column) => `t.${quoteIdent(column)}`).join(", ")}) IN (SELECT ${key} FROM ${keep})`;
  for (const child of unit.childTables(group)) {
    await session.run(
      `DELETE FROM ${unit.target(child)} WHERE ${quoteIdent(system.rootId)} IN (SELECT t.${quoteIdent(system.id)} FROM ${rootTable} t WHERE ${matches})`,
    );
  }
  await session.run(`DELETE FROM ${rootTable} t WHERE ${matches}`);
  const rows = await session.changes(`INSERT INTO ${rootTable} BY NAME SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM ${keep}`);
  await session.run(`DROP TABLE ${keep}`);
  return rows;
}

/** At the end: rows of earlier loads with this load's keys go, with their child rows. */
async function mergeEarlier(unit: UnitWrites, group: TableGroup): Promise<void> {
  const { session, schema, system, written } = unit;
  const { planned } = group;
  const root = schema.tables.get(planned.name);
  if (!root || written[root.name] === undefined) return;
  checkKeys(group, (key) => root.columns.has(key));
  const keyColumns = mergeKeys(planned);
  const rootTable = unit.target(root.name);
  const thisLoad = `${quoteIdent(system.loadId)} = ${quoteLiteral(unit.loadId)}`;
  checkKeyTypes(unit, group, root, keyColumns);
  if (unit.existedBefore(root.name)) {
    const keys = keyColumns.map(quoteIdent).join(", ");
    // IS DISTINCT FROM: rows written before a system_prefix change have no value in this column.
    const earlier = `t.${quoteIdent(system.loadId)} IS DISTINCT FROM ${quoteLiteral(unit.loadId)} AND (${keyColumns.map((key) => `t.${quoteIdent(key)}`).join(", ")}) IN (SELECT ${keys} FROM ${rootTable} WHERE ${thisLoad})`;
    for (const child of unit.childTables(group)) {
      await session.run(
        `DELETE FROM ${unit.target(child)} WHERE ${quoteIdent(system.rootId)} IN (SELECT t.${quoteIdent(system.id)} FROM ${rootTable} t WHERE ${earlier})`,
      );
    }
    await session.run(`DELETE FROM ${rootTable} t WHERE ${earlier}`);
  }
  if (!group.keys.duplicates) return;
  // Child rows of this load can have gone in before their root row made way for a later record.
  const loadRows = `SELECT ${quoteIdent(system.id)} FROM ${rootTable} WHERE ${thisLoad}`;
  for (const child of unit.childTables(group)) {
    // Rows without a root id (written before the table was a merge table, or under another
    // system_prefix) are not this load's: they stay.
    await session.run(
      `DELETE FROM ${unit.target(child)} c WHERE c.${quoteIdent(system.rootId)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${rootTable} r WHERE r.${quoteIdent(system.id)} = c.${quoteIdent(system.rootId)})`,
    );
    if (written[child] !== undefined)
      written[child] = await unit.count(`${unit.target(child)} WHERE ${quoteIdent(system.rootId)} IN (${loadRows})`);
  }
  written[root.name] = await unit.count(`${rootTable} WHERE ${thisLoad}`);
}
