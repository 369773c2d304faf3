// Staged rows: CSV files per table, written as pages arrive. A segment file is handed to the
// writer as soon as it is complete, so DuckDB loads it (on its own thread, inside the unit's open
// transaction) while extraction goes on. Memory stays bounded however many rows a unit has.
// (Measured here: read_csv takes these rows about eight times faster than read_json.)
//
// Encoding: every string is quoted (so "" is an empty string and an empty field is NULL), JSON
// values are quoted JSON text, integers keep all their digits. A table's columns can grow while a
// unit runs: a segment has the table's columns as they were when it started, and a row of a table
// that has grown since starts a new segment with a wider header. A last column
// `rl$seq` numbers the rows, so "last record wins" does not depend on read order.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { PlannedTable } from "../plan/tables.ts";
import { collectGarbage } from "../runtime/gc.ts";
import { toJson } from "../util/json.ts";

/** Encoded rows are written to the segment file once this many bytes are buffered. */
const flushBytes = 128 << 10;
/**
 * A segment ends at this many rows or characters: each one is a statement, started while
 * extraction goes on. Smaller segments keep DuckDB's reading buffers small: over 500,000 records,
 * 4 MB segments (with 128–256 KB writes) peaked at 281–289 MB, 8 MB segments (1 MB writes) at 290–310 MB.
 */
const segmentRows = 50_000;
const segmentChars = 4 << 20;
/**
 * A full garbage collection after this many staged bytes. Normalising makes short-lived objects
 * faster than the collector returns their memory: measured over 500,000 records, peak RSS 373–391
 * MB with a collection every 16 MB, 400–420 MB without, at the same speed.
 */
const collectEveryBytes = 16 << 20;

/** Not a name normalisation can produce (`$`), so no data column can take it. */
export const sequenceColumn = "rl$seq";

export interface Segment {
  readonly file: string;
  readonly columns: readonly string[];
  /** Rows in the file. */
  rows: number;
  /** The longest line, in bytes (read_csv needs to know). */
  longest: number;
}

/** Called with each complete segment, in order per table. */
export type SegmentSink = (table: StagedTable, segment: Segment) => void;

export class StagedTable {
  rows = 0;
  /** The planned root table whose governing resource's disposition and keys this table follows. */
  readonly governing: PlannedTable;
  /** The resources whose rows were staged here (usually one). */
  readonly resources = new Set<string>();
  private columns: string[] = [];
  private segment: Segment | undefined;
  private chars = 0;
  /** Rows encoded as UTF-8, not yet written (cheaper than concatenated text); grows up to 256 KB, or one long row. */
  private bytes = Buffer.allocUnsafe(16 * 1024);
  private used = 0;
  private fd: number | undefined;
  private segmentCount = 0;

  constructor(
    readonly table: string,
    governing: PlannedTable,
    private readonly prefix: string,
    private readonly sink: SegmentSink,
    /** Told of each chunk written (bytes). */
    private readonly wrote: (bytes: number) => void,
  ) {
    this.governing = governing;
  }

  /**
   * Stages one row. `columns` are its table's columns, every key of `values` among them: a segment
   * holds the table's columns as they were when it started, so a grown table starts a new one.
   */
  add(values: Record<string, unknown>, columns: ReadonlyMap<string, unknown>): void {
    let segment = this.segment;
    if (segment === undefined || segment.rows >= segmentRows || this.chars >= segmentChars || columns.size !== this.columns.length)
      segment = this.startSegment(columns);
    const names = this.columns;
    let line = "";
    for (let i = 0; i < names.length; i++) line += encode(values[names[i]!]) + ",";
    line += `${++this.rows}\n`;
    segment.rows++;
    this.chars += line.length;
    // A UTF-16 unit takes at most three bytes of UTF-8: room enough, without encoding twice.
    if (this.bytes.length - this.used < line.length * 3) this.makeRoom(line.length * 3);
    const bytes = this.bytes.write(line, this.used);
    this.used += bytes;
    if (bytes > segment.longest) segment.longest = bytes;
    if (this.used >= flushBytes) this.flush();
  }

  /** Ends the current segment: its file is complete and goes to the sink. */
  close(): void {
    const segment = this.segment;
    if (segment === undefined) return;
    this.flush();
    closeSync(this.fd!);
    this.fd = undefined;
    this.segment = undefined;
    // A buffer grown for one long row is not kept for the rest of the unit.
    if (this.bytes.length > 2 * flushBytes) this.bytes = Buffer.allocUnsafe(16 * 1024);
    this.sink(this, segment);
  }

  /** Closes the current file without handing it on (the unit failed). */
  abandon(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.segment = undefined;
    this.used = 0;
  }

  // internal

  private flush(): void {
    if (this.used === 0) return;
    for (let offset = 0; offset < this.used; ) {
      const written = writeSync(this.fd!, this.bytes, offset, this.used - offset);
      if (written <= 0) throw new Error(`Cannot write the staged rows of table "${this.table}": the file system took no bytes`);
      offset += written;
    }
    this.wrote(this.used);
    this.used = 0;
  }

  /** Room for `bytes` more: a larger buffer while it is small (a busy table), else a write. */
  private makeRoom(bytes: number): void {
    if (this.bytes.length < 2 * flushBytes) {
      const larger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.used + bytes));
      this.bytes.copy(larger, 0, 0, this.used);
      this.bytes = larger;
      return;
    }
    this.flush();
    if (bytes > this.bytes.length) this.bytes = Buffer.allocUnsafe(bytes);
  }

  private startSegment(columns: ReadonlyMap<string, unknown>): Segment {
    this.close();
    this.columns = [...columns.keys()];
    const file = `${this.prefix}-${this.segmentCount++}.csv`;
    const segment: Segment = { file, columns: [...this.columns], rows: 0, longest: 0 };
    this.fd = openSync(file, "w", 0o600);
    const header = `${[...this.columns, sequenceColumn].map(encode).join(",")}\n`;
    if (this.bytes.length - this.used < header.length * 3) this.makeRoom(header.length * 3);
    this.used += this.bytes.write(header, this.used);
    this.chars = 0;
    this.segment = segment;
    return segment;
  }
}

/** The staging directory of one load unit: `<run's stage folder>/<load id>/`, removed when done. */
export class Stage {
  readonly tables = new Map<string, StagedTable>();

  constructor(
    readonly dir: string,
    private readonly sink: SegmentSink,
    /** The planned table whose rules a table follows (decided by the plan, not by which rows come first), given the resource staging its first rows. */
    private readonly governing: (table: string, resource: string) => PlannedTable,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** The staged table `name`, for rows of `resource`. */
  table(name: string, resource: string): StagedTable {
    let staged = this.tables.get(name);
    if (!staged) {
      staged = new StagedTable(name, this.governing(name, resource), join(this.dir, String(this.tables.size)), this.sink, (chars) =>
        this.wrote(chars),
      );
      this.tables.set(name, staged);
    }
    staged.resources.add(resource);
    return staged;
  }

  private sinceCollection = 0;

  private wrote(bytes: number): void {
    this.sinceCollection += bytes;
    if (this.sinceCollection < collectEveryBytes) return;
    this.sinceCollection = 0;
    collectGarbage();
  }

  /** Ends every table's current segment (each goes to the sink). */
  closeAll(): void {
    for (const staged of this.tables.values()) staged.close();
  }

  /** Removes the staging directory; files still open are closed without going to the sink. */
  remove(): void {
    for (const staged of this.tables.values()) staged.abandon();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// internal

function encode(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value.includes('"') ? `"${value.replaceAll('"', '""')}"` : `"${value}"`;
    case "number":
      return Number.isFinite(value) ? String(value) : "";
    case "bigint":
    case "boolean":
      return String(value);
    case "object":
      if (value === null) return "";
      return encode(toJson(value));
    default:
      return "";
  }
}
