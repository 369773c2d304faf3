// scd2 (merge strategy "scd2", as dlt): the table keeps every version of each record. A root row's
// `_rl_id` is the hash of its record's content (normalize/row-hash.ts), so an unchanged record is
// the current row it already has and is left alone; a record whose hash is not current goes in
// as a new version, valid from the load's time (its load id's instant) with valid_to NULL. A
// current row whose hash the load lacks is retired (valid_to = the load's time): every such row
// when each load is a complete extract (`PlannedTable.retire_absent_rows`), else only those whose
// merge_key, or else primary_key, the load has (a changed record's earlier version). Inside one
// load the last record of a primary key wins. Child rows belong to the content: their ids derive
// from the root hash, so a new version brings its own child rows and an unchanged one keeps them.
import { quoteIdent } from "../../db/session.ts";
import { sequenceColumn } from "../stage.ts";
import { checkKeyTypes, checkKeys } from "./_keys.ts";
import { dropStaged, stageSegment, stagedColumns, stagedTable, stagedTables } from "./_staged.ts";
import type { Disposition, TableGroup, UnitWrites } from "./types.ts";

export const scd2: Disposition = {
  loadSegment: stageSegment,
  finish: versionStaged,
};

/**
 * The instant a load id names (seconds since the epoch with microseconds), as a TIMESTAMPTZ literal:
 * the time of a load, one for all its versions.
 *
 * @example
 * loadTime("1718000000.000001") // "TIMESTAMPTZ '2024-06-10T06:13:20.000001+00:00'"
 */
export function loadTime(loadId: string): string {
  const [seconds = "0", fraction = ""] = loadId.split(".");
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `TIMESTAMPTZ '${whole}.${fraction.padEnd(6, "0").slice(0, 6)}+00:00'`;
}

// internal

/** This load's versions: the last record of each primary key, one row per content hash. */
const versions = `temp.main.${quoteIdent("_rl_versions")}`;

async function versionStaged(unit: UnitWrites, group: TableGroup): Promise<void> {
  const staged = stagedTables(unit, group);
  // A load without records retires nothing: an empty answer is more often a fault than a wipe-out.
  if (unit.written[group.planned.name] !== undefined) await versionRows(unit, group, staged);
  await dropStaged(unit, staged, [versions]);
}

async function versionRows(unit: UnitWrites, group: TableGroup, staged: readonly string[]): Promise<void> {
  const { session, schema, system, written } = unit;
  const { planned } = group;
  const root = schema.tables.get(planned.name)!;
  const naturalKey = planned.merge_key.length > 0 ? planned.merge_key : planned.primary_key;
  if (naturalKey.length > 0) {
    checkKeys(group, (column) => root.columns.has(column));
    checkKeyTypes(unit, group, root, naturalKey);
  }
  const target = unit.target(root.name);
  const id = quoteIdent(system.id);
  const seq = quoteIdent(sequenceColumn);
  const validFrom = quoteIdent(system.validFrom);
  const validTo = quoteIdent(system.validTo);
  const time = loadTime(unit.loadId);
  const lastOfKey =
    planned.primary_key.length > 0
      ? ` QUALIFY row_number() OVER (PARTITION BY ${planned.primary_key.map(quoteIdent).join(", ")} ORDER BY ${seq} DESC) = 1`
      : "";
  await session.run(
    `CREATE OR REPLACE TEMP TABLE ${versions} AS SELECT * EXCLUDE (${seq}) FROM (SELECT * FROM ${stagedTable(root.name)}${lastOfKey}) QUALIFY row_number() OVER (PARTITION BY ${id} ORDER BY ${seq} DESC) = 1`,
  );
  const absent = `t.${validTo} IS NULL AND NOT EXISTS (SELECT 1 FROM ${versions} v WHERE v.${id} = t.${id})`;
  const keys = naturalKey.map(quoteIdent).join(", ");
  const retired = planned.retire_absent_rows
    ? absent
    : naturalKey.length > 0
      ? `${absent} AND (${naturalKey.map((column) => `t.${quoteIdent(column)}`).join(", ")}) IN (SELECT ${keys} FROM ${versions})`
      : undefined;
  if (retired !== undefined) await session.run(`UPDATE ${target} AS t SET ${validTo} = ${time} WHERE ${retired}`);
  const columns = await stagedColumns(unit, root.name);
  const stamped = columns.has(system.validFrom) ? `* REPLACE (${time} AS ${validFrom})` : `*, ${time} AS ${validFrom}`;
  written[root.name] = await session.changes(
    `INSERT INTO ${target} BY NAME SELECT ${stamped} FROM ${versions} v WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE t.${validTo} IS NULL AND t.${id} = v.${id})`,
  );
  // Child rows of this load's versions that the table does not hold yet (an unchanged record's
  // are there already). Equal records staged the same child rows twice: DISTINCT then, a hash
  // aggregate (a window over every child row runs out of memory at the default limit).
  const rootId = quoteIdent(system.rootId);
  const repeated = (await unit.count(stagedTable(root.name))) > (await unit.count(versions));
  for (const child of staged) {
    if (child === root.name) continue;
    const table = unit.target(child);
    written[child] = await session.changes(
      `INSERT INTO ${table} BY NAME SELECT${repeated ? " DISTINCT" : ""} * EXCLUDE (${seq}) FROM ${stagedTable(child)} c
       WHERE c.${rootId} IN (SELECT ${id} FROM ${versions}) AND NOT EXISTS (SELECT 1 FROM ${table} x WHERE x.${id} = c.${id})`,
    );
  }
}
