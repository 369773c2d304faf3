// Loads a unit's staged segments inside its checkpoint's transaction: schema changes first
// (CREATE / ALTER TABLE), then the rows by the disposition of the table's planned governing
// resource. Values only ever travel in staged files read by read_csv. Nothing is visible to others
// before a checkpoint commits.
//
// When the file is held: complete segments wait on disk, the file free, until the checkpoint
// commits (then it is attached, they are loaded in one burst, committed, and the file let go), or
// until the waiting ones show a fast producer (`backlogBytes`, `backlogRows`): then the file
// is attached and each segment loads as it completes, on DuckDB's own thread while extraction
// goes on, up to the COMMIT. A slow API holds the file only for commit bursts; a bulk load holds
// it while it loads, as fast as before.
import { rmSync, statSync } from "node:fs";
import { RestloadError, messageOf } from "../errors.ts";
import type { Session } from "../db/session.ts";
import type { CurrentLoadId, KeyStats, SystemColumns } from "../normalize/flatten.ts";
import type { Schema } from "../normalize/schema.ts";
import type { SchemaChange } from "../state/runs.ts";
import { type PlannedTable, governingTable } from "../plan/tables.ts";
import { type Disposition, type TableGroup, type UnitWrites, dispositionOf } from "./dispositions/index.ts";
import { DatabaseColumns } from "./schema-changes.ts";
import { readSegment } from "./segment-read.ts";
import type { Segment, StagedTable } from "./stage.ts";

/**
 * Waiting segments that show a fast producer: two full segments of `stage.ts` (by bytes or by
 * rows). A slow API completes segments only when a checkpoint closes them, or small ones when a
 * table gains a column: those wait, however many.
 */
const backlogBytes = 8 << 20;
const backlogRows = 100_000;

/** A complete segment not loaded yet. */
interface Waiting {
  readonly staged: StagedTable;
  readonly segment: Segment;
}

/** The database file, attached only while written (`db/attachable.ts`). */
export interface WriteAccess {
  acquire(): Promise<Session>;
  release(): Promise<void>;
}

export interface WriteContext {
  /** The session on the file (valid while it is attached). */
  readonly session: Session;
  readonly file: WriteAccess;
  readonly dataset: string;
  readonly schema: Schema;
  readonly system: SystemColumns;
  /** The load id of the checkpoint being written (each checkpoint is a load of its own). */
  readonly loadId: CurrentLoadId;
  /** The load unit being written. */
  readonly unit: string;
  /** Every planned table of the pipeline: a table that existed before the unit follows its governing one. */
  readonly tables: readonly PlannedTable[];
  /** What normalisation has seen of each root table's keys in this load, by table name. */
  readonly keys: ReadonlyMap<string, KeyStats>;
  /** `--full-refresh`: every table of the unit is replaced. */
  readonly fullRefresh: boolean;
  /** The unit's stop signal. */
  readonly signal: AbortSignal;
  /** Told of the first failure, so the unit stops extracting. */
  readonly onError: (error: unknown) => void;
}

/** What a checkpoint wrote: rows per table, and the tables and columns it added. */
export interface CheckpointWrites {
  readonly rows: Record<string, number>;
  readonly schemaChanges: readonly SchemaChange[];
}

/** What a checkpoint's transaction holds besides its rows, and the moments around its COMMIT. */
export interface CheckpointCommit {
  /** Writes the cursors and the `_rl_loads` row, given what this checkpoint wrote. */
  readonly record: (writes: CheckpointWrites) => Promise<void>;
  readonly beforeCommit: () => void;
  readonly afterCommit: () => void;
}

/**
 * One unit's writes. `add` takes each complete segment (waiting on disk, or loaded at once when
 * the producer is fast; one after another, in order, by its table's disposition); `commit` loads
 * the waiting ones and waits for them, applies what each disposition does once
 * all rows of the checkpoint are in (`dispositions/`) and commits; the next segment begins the
 * next checkpoint.
 *
 * Rows of earlier loads are deleted only after the last ALTER TABLE of the unit: DuckDB refuses to
 * commit a transaction that deleted committed rows of a table and then altered it.
 */
export class UnitWriter {
  private queue: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private readonly columns: DatabaseColumns;
  /** The unit's root tables, in unit order, with their keys and dispositions. */
  private readonly groups = new Map<string, { group: TableGroup; disposition: Disposition }>();
  /** The root table governing each table this unit staged rows in. */
  private readonly stagedIn = new Map<string, string>();
  private readonly writes: UnitWrites;
  /** Rows committed per table over all checkpoints so far. */
  readonly committed: Record<string, number> = {};
  /** Tables an earlier checkpoint of the unit committed rows or columns in. */
  private readonly committedTables = new Set<string>();
  private open = false;
  /** Complete segments waiting on disk, the file not held for them yet. */
  private waiting: Waiting[] = [];
  private waitingBytes = 0;
  private waitingRows = 0;
  /** The checkpoint's producer is fast: each segment loads as it completes, the file held to the COMMIT. */
  private streaming = false;

  constructor(private readonly context: WriteContext) {
    const target = (table: string) => context.session.table(context.dataset, table);
    // Built before the unit normalises anything: an existing table's columns are the database's.
    this.columns = new DatabaseColumns({ session: context.session, target, schema: context.schema });
    for (const planned of context.tables) {
      if (planned.unit !== context.unit) continue;
      const keys = context.keys.get(planned.name) ?? { duplicates: false, missing: 0, mistyped: 0 };
      this.groups.set(planned.name, { group: { planned, keys }, disposition: dispositionOf(planned, context) });
    }
    this.writes = {
      session: context.session,
      schema: context.schema,
      system: context.system,
      get loadId() {
        return context.loadId.current;
      },
      written: {},
      existedBefore: (table) => context.schema.tables.get(table)?.isNew === false || this.committedTables.has(table),
      target,
      tablesOf: (group) => this.tablesOf(group),
      childTables: (group) =>
        this.tablesOf(group).filter((name) => name !== group.planned.name && this.columns.has(name, context.system.rootId)),
      count: async (from) => {
        const [row] = await context.session.all(`SELECT count(*) AS n FROM ${from}`);
        return Number(row?.n ?? 0);
      },
    };
  }

  /** The first error a write raised, if any. */
  get error(): unknown {
    return this.failure?.error;
  }

  add(staged: StagedTable, segment: Segment): void {
    this.stagedIn.set(staged.table, staged.governing.name);
    this.waiting.push({ staged, segment });
    this.waitingBytes += sizeOf(segment.file);
    this.waitingRows += segment.rows;
    if (!this.streaming && this.waitingBytes < backlogBytes && this.waitingRows < backlogRows) return;
    this.streaming = true;
    this.loadWaiting();
  }

  /** Resolves once the queued segments are done (or skipped after a failure); never rejects. */
  settled(): Promise<void> {
    return this.queue;
  }

  /**
   * After the checkpoint's last segment: what each disposition does at the end, the checkpoint's
   * record, COMMIT. Returns what this checkpoint wrote. Segments still waiting are loaded first
   * (attaching the file); after the COMMIT the file is let go.
   */
  async commit(checkpoint: CheckpointCommit): Promise<CheckpointWrites> {
    this.loadWaiting();
    await this.queue;
    if (this.failure) throw this.failure.error;
    // Stopped while segments were queued: they were skipped, so committing would store cursors
    // past rows that never went in. The checkpoint rolls back instead.
    this.throwIfStopped();
    await this.begin();
    // Every schema change first (tables and columns normalisation declared without staging rows
    // there, after a discarded row): deletes of earlier rows must come after the last ALTER.
    for (const table of this.context.schema.tables.values()) await this.columns.materialize(table, [...table.columns.keys()]);
    for (const { group, disposition } of this.groups.values()) await disposition.finish(this.writes, group);
    const writes: CheckpointWrites = { rows: { ...this.writes.written }, schemaChanges: this.columns.takeChanges() };
    const { rows } = writes;
    await checkpoint.record(writes);
    this.throwIfStopped();
    checkpoint.beforeCommit();
    await this.context.session.run("COMMIT");
    this.open = false;
    checkpoint.afterCommit();
    for (const [table, count] of Object.entries(rows)) this.committed[table] = (this.committed[table] ?? 0) + count;
    for (const table of this.context.schema.tables.keys())
      if (this.columns.has(table, this.context.system.id) || rows[table] !== undefined) this.committedTables.add(table);
    for (const table of Object.keys(this.writes.written)) delete this.writes.written[table];
    // Each checkpoint decides afresh: a producer that slowed down waits on disk again.
    this.streaming = false;
    // The checkpoint is committed whatever happens now: a file that cannot be let go (DETACH
    // checkpoints the WAL, which may hit a full disk) stays attached until the run closes it.
    await this.context.file.release().catch(() => {});
    return writes;
  }

  /** After a failure: waits for the queued segments, rolls back what followed the last checkpoint and lets the file go. */
  async rollback(): Promise<void> {
    for (const { segment } of this.waiting.splice(0)) rmSync(segment.file, { force: true });
    this.waitingBytes = 0;
    this.waitingRows = 0;
    await this.queue;
    if (this.open) await this.context.session.run("ROLLBACK").catch(() => {});
    this.open = false;
    // The tables and columns of the rolled-back transaction are gone with it.
    this.columns.takeChanges();
    await this.context.file.release().catch(() => {});
  }

  // internal

  /** Queues the waiting segments, in order, to be loaded in the checkpoint's transaction. */
  private loadWaiting(): void {
    const batch = this.waiting.splice(0);
    this.waitingBytes = 0;
    this.waitingRows = 0;
    for (const { staged, segment } of batch) this.queue = this.queue.then(() => this.loadQueued(staged, segment));
  }

  /** Loads one segment (unless the unit stopped) and removes its file; a failure is kept, not thrown. */
  private async loadQueued(staged: StagedTable, segment: Segment): Promise<void> {
    try {
      // A unit that stopped (a failure, a signal) loads nothing more: it is about to roll back.
      if (this.failure === undefined && !this.context.signal.aborted) {
        await this.begin();
        await this.load(staged, segment);
      }
    } catch (caught) {
      const error = caught instanceof RestloadError && caught.code === "E_LOCKED" ? caught : loadFailure(staged, caught);
      this.failure = { error };
      this.context.onError(error);
    } finally {
      rmSync(segment.file, { force: true });
    }
  }

  private throwIfStopped(): void {
    const { signal } = this.context;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(`stopped (${String(signal.reason)})`);
  }

  /** The checkpoint's transaction, begun at its first write: the file is held from here to its COMMIT. */
  private async begin(): Promise<void> {
    if (this.open) return;
    await this.context.file.acquire();
    await this.context.session.run("BEGIN TRANSACTION");
    this.open = true;
  }

  private async load(staged: StagedTable, segment: Segment): Promise<void> {
    const { group, disposition } = this.groups.get(staged.governing.name)!;
    const table = this.context.schema.tables.get(staged.table)!;
    await this.columns.materialize(table, segment.columns);
    const rows = await disposition.loadSegment(this.writes, { group, table, segment, read: readSegment(table, segment) });
    const { written } = this.writes;
    written[table.name] = (written[table.name] ?? 0) + rows;
  }

  /** The tables a group writes: those it staged rows in, and those it governed before the unit. */
  private tablesOf(group: TableGroup): string[] {
    const name = group.planned.name;
    const owned: string[] = [];
    for (const table of this.context.schema.tables.values()) {
      const staged = this.stagedIn.get(table.name);
      if (staged === name || (staged === undefined && !table.isNew && governingTable(this.context.tables, table.name)?.name === name))
        owned.push(table.name);
    }
    return owned;
  }
}

/** A segment that did not load, as E_LOAD: DuckDB's first line, and for a CSV error the line naming the column and the value. */
function loadFailure(staged: StagedTable, caught: unknown): RestloadError {
  const full = messageOf(caught);
  const detail = /^Error when converting column .*$/m.exec(full)?.[0];
  const message = [full.split("\n")[0]!, ...(detail ? [detail] : [])].join(": ");
  const from = [...staged.resources].map((name) => `"${name}"`).join(", ");
  return new RestloadError(
    "E_LOAD",
    `Cannot load the rows of ${staged.resources.size > 1 ? "resources" : "resource"} ${from} into table "${staged.table}": ${message}`,
    {
      hint: /Conversion Error/.test(message)
        ? "A value does not convert to its column's type: check the field's columns hint (data_type, precision), or keep it as text with columns.<field> = { data_type = \"text\" }."
        : "The unit rolled back; the next run loads it again.",
      context: { resource: staged.governing.resource },
      cause: caught,
    },
  );
}

/** The size of a staged file in bytes (0 when it is gone). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
