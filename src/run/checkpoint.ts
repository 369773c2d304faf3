// A unit's checkpoints: when one is due (checkpoint_interval since the last commit), and what one
// commits: the rows staged so far, the cursors as of its safe point, its own `_rl_loads` row.
import type { Session } from "../db/session.ts";
import type { Extractor } from "../extract/index.ts";
import type { Stage } from "../load/stage.ts";
import type { UnitWriter } from "../load/write.ts";
import type { TableKeys } from "../normalize/flatten.ts";
import { writeCursor } from "../state/cursors.ts";
import { type CursorReached, type SchemaChange, insertLoad } from "../state/runs.ts";
import type { ResourceStats } from "./events.ts";
import type { LoadIds } from "./ids.ts";
import type { CursorUpdate } from "./records.ts";
import type { RunOptions } from "./types.ts";

export interface CheckpointContext {
  readonly session: Session;
  readonly options: RunOptions;
  readonly extractor: Extractor;
  readonly unit: string;
  readonly runId: string;
  readonly loadIds: LoadIds;
  readonly writer: UnitWriter;
  readonly stage: Stage;
  /** The key trackers of the unit's root tables: each checkpoint is a load of its own. */
  readonly keys: ReadonlyMap<string, TableKeys>;
  /** Cursors of the chains finished so far (children as they finish, the root at the end). */
  readonly cursorUpdates: readonly CursorUpdate[];
  readonly resourceStats: Readonly<ResourceStats>;
  /** Milliseconds between checkpoints; Infinity: the unit commits once, at its end. */
  readonly intervalMs: number;
  /** Run in the final checkpoint's transaction before its cursors are written. */
  readonly beforeFinal: (() => Promise<void>) | undefined;
}

export class CheckpointRecorder {
  /** Checkpoints committed so far (the final commit included once it is done). */
  committedCount = 0;
  /** When the checkpoint in progress started (the unit's start, or the previous COMMIT). */
  checkpointStarted = new Date();
  /** The tables, columns and variant columns the committed checkpoints added, in order. */
  readonly schemaChanges: SchemaChange[] = [];
  private cursorsWritten = 0;
  private counters: Extractor["counters"];
  private resources: ResourceStats = {};

  constructor(private readonly context: CheckpointContext) {
    this.counters = { ...context.extractor.counters };
  }

  /** Whether a safe point reached now should commit a checkpoint. */
  due(): boolean {
    return Date.now() - this.checkpointStarted.getTime() >= this.context.intervalMs;
  }

  /**
   * Commits the rows staged so far with the cursors as of now: at a safe point (`root`: where the
   * root's cursor stands there), or at the end of the unit (`final`).
   */
  async commit(at: { readonly final: boolean; readonly root?: CursorUpdate }): Promise<void> {
    const { session, options, unit, loadIds, writer, stage } = this.context;
    const { plan } = options;
    const number = loadIds.checkpoint;
    const loadId = loadIds.current;
    const updates = [...this.context.cursorUpdates.slice(this.cursorsWritten), ...(at.root ? [at.root] : [])];
    const rootUpdate = at.root ?? updates.find((update) => update.resource === unit && update.parentKey === "");
    const cursorReached: CursorReached | null = rootUpdate
      ? { resource: rootUpdate.resource, cursor_path: rootUpdate.cursorPath, last_value: rootUpdate.value.lastValue }
      : null;
    // The partial segments end here: their rows belong to this checkpoint.
    stage.closeAll();
    const written = await writer.commit({
      record: async ({ rows, schemaChanges }) => {
        if (at.final) await this.context.beforeFinal?.();
        // The cursors move with the rows they cover, in the same transaction.
        for (const update of updates) {
          await writeCursor(session, plan.dataset, {
            pipeline: plan.pipeline,
            resource: update.resource,
            parentKey: update.parentKey,
            cursorPath: update.cursorPath,
            loadId,
            value: update.value,
          });
        }
        await insertLoad(session, plan.dataset, {
          loadId,
          runId: this.context.runId,
          unit,
          status: "committed",
          startedAt: this.checkpointStarted,
          finishedAt: new Date(),
          rowsByTable: rows,
          requests: this.requestsSince(),
          retries: this.retriesSince(),
          error: null,
          resources: this.resourcesSince(),
          checkpoint: number,
          final: at.final,
          cursorReached,
          schemaChanges,
        });
      },
      beforeCommit: () => options.onCrashPoint?.(at.final ? "before_commit" : `before_checkpoint_${number}`, unit),
      afterCommit: () => options.onCrashPoint?.(at.final ? "after_commit" : `after_checkpoint_${number}`, unit),
    });
    this.committedCount++;
    this.cursorsWritten = this.context.cursorUpdates.length;
    this.counters = { ...this.context.extractor.counters };
    this.resources = structuredClone(this.context.resourceStats) as ResourceStats;
    this.checkpointStarted = new Date();
    this.schemaChanges.push(...written.schemaChanges);
    for (const change of written.schemaChanges) options.onEvent?.({ type: "schema_changed", unit, load_id: loadId, ...change });
    if (at.final) return;
    // The next checkpoint is a load of its own: its rows, its keys.
    loadIds.next();
    for (const keys of this.context.keys.values()) keys.reset();
    options.onEvent?.({
      type: "checkpoint",
      unit,
      checkpoint: number,
      load_id: loadId,
      rows: Object.values(written.rows).reduce((sum, count) => sum + count, 0),
      cursor: cursorReached?.last_value ?? null,
    });
  }

  /** Requests since the previous checkpoint. */
  requestsSince(): number {
    return this.context.extractor.counters.requests - this.counters.requests;
  }

  retriesSince(): number {
    return this.context.extractor.counters.retries - this.counters.retries;
  }

  /** Pages, records and retries per resource since the previous checkpoint. */
  resourcesSince(): ResourceStats {
    const since: ResourceStats = {};
    for (const [name, now] of Object.entries(this.context.resourceStats)) {
      const then = this.resources[name] ?? { pages: 0, records: 0, retries: 0 };
      since[name] = { pages: now.pages - then.pages, records: now.records - then.records, retries: now.retries - then.retries };
    }
    return since;
  }
}
