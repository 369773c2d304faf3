// Inserting a segment's rows as they are: what append and replace do with every segment.
import { quoteIdent } from "../../db/session.ts";
import { sequenceColumn } from "../stage.ts";
import type { SegmentLoad, UnitWrites } from "./types.ts";

/** INSERT … BY NAME the segment's rows, without the sequence column; returns the rows inserted. */
export function insertSegment(unit: UnitWrites, load: SegmentLoad): Promise<number> {
  return unit.session.changes(
    `INSERT INTO ${unit.target(load.table.name)} BY NAME SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM (${load.read})`,
  );
}
