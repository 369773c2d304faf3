// upsert (merge strategy "upsert", as dlt): a record whose primary key is in the table updates that
// row in place: the row keeps its `_rl_id` and its place, and each column takes the record's value
// (NULL where the record has none). Records of new keys are inserted; rows whose key the load lacks
// stay as they are. A key repeated inside one load: its last record wins. The child rows of a row
// the load has are replaced by its record's (as dlt, whose child rows of a parent are those of its
// last load): the old ones go, the new ones come in under the kept id.
import { quoteIdent } from "../../db/session.ts";
import { sequenceColumn } from "../stage.ts";
import { checkKeyTypes, checkKeys, sameKey } from "./_keys.ts";
import { dropStaged, stageSegment, stagedColumns, stagedTable, stagedTables } from "./_staged.ts";
import type { Disposition, TableGroup, UnitWrites } from "./types.ts";

export const upsert: Disposition = {
  loadSegment: stageSegment,
  finish: upsertStaged,
};

// internal

/** This load's last record per key, the id its row keeps, and whether the table has the key. */
const winners = `temp.main.${quoteIdent("_rl_upsert")}`;
const keptId = quoteIdent("rl$kept_id");
const matched = quoteIdent("rl$matched");

async function upsertStaged(unit: UnitWrites, group: TableGroup): Promise<void> {
  const staged = stagedTables(unit, group);
  if (unit.written[group.planned.name] !== undefined) await upsertRows(unit, group, staged);
  await dropStaged(unit, staged, [winners]);
}

async function upsertRows(unit: UnitWrites, group: TableGroup, staged: readonly string[]): Promise<void> {
  const { session, schema, system, written } = unit;
  const { planned } = group;
  const root = schema.tables.get(planned.name)!;
  const key = planned.primary_key;
  checkKeys(group, (column) => root.columns.has(column));
  checkKeyTypes(unit, group, root, key);
  const target = unit.target(root.name);
  const keys = key.map(quoteIdent).join(", ");
  const id = quoteIdent(system.id);
  const seq = quoteIdent(sequenceColumn);
  const targetKeys = key.map((column) => `t.${quoteIdent(column)}`).join(", ");
  // min(): rows written before the table was an upsert table may repeat a key; they all take the
  // record, and its child rows follow one of them. Only the rows of the load's keys are grouped (a
  // semi-join first): grouping the whole table at every checkpoint made a unit's cost grow with
  // the square of its checkpoints (4M rows, 1,000 keys: 720 ms a checkpoint, 22 ms with the
  // semi-join; DuckDB 1.5.6).
  await session.run(
    `CREATE OR REPLACE TEMP TABLE ${winners} AS
     WITH s AS (SELECT * FROM ${stagedTable(root.name)} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${seq} DESC) = 1)
     SELECT s.* EXCLUDE (${seq}), coalesce(m."rl$id", s.${id}) AS ${keptId}, m."rl$found" IS NOT NULL AS ${matched}
     FROM s LEFT JOIN (
       SELECT ${targetKeys}, min(t.${id}) AS "rl$id", true AS "rl$found" FROM ${target} t
       WHERE EXISTS (SELECT 1 FROM s WHERE ${sameKey("s", "t", key)}) GROUP BY ${targetKeys}
     ) m ON ${sameKey("s", "m", key)}`,
  );
  // The child rows of the rows about to be updated go (rows without a root id are not a merge's).
  const replaced = `SELECT t.${id} FROM ${target} t WHERE (${targetKeys}) IN (SELECT ${keys} FROM ${winners} WHERE ${matched})`;
  for (const child of unit.childTables(group))
    await session.run(`DELETE FROM ${unit.target(child)} WHERE ${quoteIdent(system.rootId)} IN (${replaced})`);
  // Every column takes the record's value, NULL where no record of the load has the field. A row
  // whose values are the record's already is left alone (its load id stays the one that last
  // changed it): DuckDB holds the old and new values of every updated row in memory until COMMIT.
  const loaded = await stagedColumns(unit, root.name);
  const values = [...root.columns.keys()]
    .filter((column) => !key.includes(column))
    .map((column) => ({
      column: quoteIdent(column),
      value: column === system.id ? `w.${keptId}` : loaded.has(column) ? `w.${quoteIdent(column)}` : "NULL",
    }));
  const changed = values
    .filter(({ column }) => column !== quoteIdent(system.loadId))
    .map(({ column, value }) => `t.${column} IS DISTINCT FROM ${value}`)
    .join(" OR ");
  const updated = await session.changes(
    `UPDATE ${target} AS t SET ${values.map(({ column, value }) => `${column} = ${value}`).join(", ")} FROM ${winners} AS w
     WHERE w.${matched} AND ${sameKey("t", "w", key)} AND (${changed})`,
  );
  const inserted = await session.changes(
    `INSERT INTO ${target} BY NAME SELECT * EXCLUDE (${keptId}, ${matched}) FROM ${winners} WHERE NOT ${matched}`,
  );
  written[root.name] = updated + inserted;
  // The records' child rows, under the ids their root rows keep: every id below a root row starts
  // with the root row's id (`<root id>.<tag><index>`), so the new id replaces that start.
  const rebased = (column: string) => `w.${keptId} || substr(c.${quoteIdent(column)}, length(w.${id}) + 1) AS ${quoteIdent(column)}`;
  for (const child of staged) {
    if (child === root.name) continue;
    written[child] = await session.changes(
      `INSERT INTO ${unit.target(child)} BY NAME SELECT c.* EXCLUDE (${seq}) REPLACE (${rebased(system.id)}, ${rebased(system.parentId)}, w.${keptId} AS ${quoteIdent(system.rootId)})
       FROM ${stagedTable(child)} c JOIN ${winners} w ON c.${quoteIdent(system.rootId)} = w.${id}`,
    );
  }
}
