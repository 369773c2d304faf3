// replace: this load's rows go in as they come; at the end of the unit the rows of earlier loads go.
import { quoteIdent, quoteLiteral } from "../../db/session.ts";
import { insertSegment } from "./_insert.ts";
import type { Disposition, TableGroup, UnitWrites } from "./types.ts";

export const replace: Disposition = {
  loadSegment: insertSegment,
  finish: replaceEarlier,
};

/**
 * `--full-refresh` of a table whose disposition holds its load back to the end (upsert, scd2): the
 * rows of earlier loads go first, then the load goes in as that disposition puts it (the last
 * record of a key; versions valid from this load).
 */
export function refreshing(disposition: Disposition): Disposition {
  return {
    loadSegment: disposition.loadSegment,
    async finish(unit, group) {
      await replaceEarlier(unit, group);
      await disposition.finish(unit, group);
    },
  };
}

// internal

/**
 * The rows of earlier loads go. Root rows carry their load id; a child row's id starts with its
 * root row's id (`<root id>.<tag><index>`).
 */
async function replaceEarlier(unit: UnitWrites, group: TableGroup): Promise<void> {
  const { session, schema, system, loadId } = unit;
  const root = group.planned.name;
  const rootTable = unit.target(root);
  const thisLoad = `${quoteIdent(system.loadId)} = ${quoteLiteral(loadId)}`;
  const rootHasRows = unit.written[root] !== undefined;
  for (const name of unit.tablesOf(group)) {
    const table = schema.tables.get(name)!;
    if (table.isNew) continue;
    // IS DISTINCT FROM and coalesce: rows written before a system_prefix change have no value in these columns.
    if (name === root || !rootHasRows) {
      await session.run(
        `DELETE FROM ${unit.target(name)}${rootHasRows ? ` WHERE ${quoteIdent(system.loadId)} IS DISTINCT FROM ${quoteLiteral(loadId)}` : ""}`,
      );
    } else {
      await session.run(
        `DELETE FROM ${unit.target(name)} WHERE coalesce(split_part(${quoteIdent(system.id)}, '.', 1), '') NOT IN (SELECT ${quoteIdent(system.id)} FROM ${rootTable} WHERE ${thisLoad})`,
      );
    }
  }
}
