// The SQL that reads one staged segment: read_csv over its file, every column given its type.
import { quoteIdent, quoteLiteral } from "../db/session.ts";
import type { Table } from "../normalize/schema.ts";
import { duckdbType } from "../normalize/types.ts";
import { type Segment, sequenceColumn } from "./stage.ts";

/**
 * read_csv over one segment file, every column typed; includes the sequence column. Timestamps
 * are read as text and cast after: read_csv turns a TIMESTAMPTZ it cannot convert (30 February)
 * into NULL, where a cast fails loudly.
 */
export function readSegment(table: Table, segment: Segment): string {
  // DuckDB's default limit is 2 MiB per line; a larger record raises it just enough. Its reading
  // buffer would then be 16 times that (a 6 MB record: a 100 MB buffer, past the memory limit):
  // twice the longest line is enough. (Below 2 MiB DuckDB's own buffer is kept: an 8 MB one
  // raised the peak of a 500,000-record run from 281–283 MB to 308 MB.)
  const longLines = segment.longest + 1024 > 2 * 1024 * 1024;
  const maximum = longLines ? segment.longest + 1024 : 2 * 1024 * 1024;
  const buffer = longLines ? `, buffer_size = ${2 * maximum}` : "";
  const casts: string[] = [];
  const columns = segment.columns.map((name) => {
    const column = table.columns.get(name)!;
    const type = duckdbType(column.type, column.hint);
    if (column.type === "timestamp") casts.push(`CAST(${quoteIdent(name)} AS ${type}) AS ${quoteIdent(name)}`);
    return `${quoteLiteral(name)}: ${quoteLiteral(column.type === "timestamp" ? "VARCHAR" : type)}`;
  });
  columns.push(`${quoteLiteral(sequenceColumn)}: 'BIGINT'`);
  const select = casts.length > 0 ? `SELECT * REPLACE (${casts.join(", ")})` : "SELECT *";
  return `${select} FROM read_csv(${quoteLiteral(segment.file)}, header = true, auto_detect = false, columns = {${columns.join(", ")}}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = ${maximum}${buffer})`;
}
