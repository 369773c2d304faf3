// The live status file `<database>.<dataset>.status.json`: what a run is doing, rewritten atomically (temp
// file + rename) at the start, every 500 ms, after a change once the last write is 200 ms old, and
// at the end, so the status page can show a run that holds the database. It never holds secrets.
import { readdirSync, rmSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Redactor } from "../config/redact.ts";

/**
 * The status file of a run of `dataset` into `database`: one per dataset, so pipelines loading
 * other datasets of the same file at the same time do not overwrite each other's.
 */
export function statusFilePath(database: string, dataset: string): string {
  return `${database}.${dataset}.status.json`;
}

/**
 * Removes temp files a killed run left beside `statusPath` (`<status>.<pid>.tmp`). Only a run that
 * recorded its start may call it: no other run of the dataset can be writing one then.
 */
export function removeStaleStatusTemps(statusPath: string): void {
  const prefix = `${basename(statusPath)}.`;
  try {
    for (const name of readdirSync(dirname(statusPath))) {
      if (name.startsWith(prefix) && /^\d+\.tmp$/.test(name.slice(prefix.length))) rmSync(join(dirname(statusPath), name), { force: true });
    }
  } catch {
    // The directory cannot be listed: nothing to tidy that this run could see.
  }
}

export interface ResourceStatus {
  pages: number;
  records: number;
  retries: number;
  errors: string[];
}

/** A unit's progress in checkpoints: how many committed, their rows, the root cursor reached. */
export interface UnitProgress {
  checkpoints: number;
  rows_committed: number;
  cursor: unknown;
}

export interface RunStatusDocument {
  run_id: string;
  pipeline: string;
  dataset: string;
  pid: number;
  started_at: string;
  updated_at: string;
  state: "running" | "succeeded" | "failed" | "interrupted";
  unit: string | null;
  units: Record<string, "running" | "committed" | "failed">;
  /** Per unit: checkpoints committed so far, rows they committed, the root cursor reached. */
  checkpoints: Record<string, UnitProgress>;
  resources: Record<string, ResourceStatus>;
}

export class StatusFile {
  private readonly document: RunStatusDocument;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastWrite = 0;
  private writing: Promise<void> | undefined;
  private again = false;

  constructor(
    readonly path: string,
    run: { runId: string; pipeline: string; dataset: string; startedAt: Date },
    private readonly redactor: Redactor,
  ) {
    const now = run.startedAt.toISOString();
    this.document = {
      run_id: run.runId,
      pipeline: run.pipeline,
      dataset: run.dataset,
      pid: process.pid,
      started_at: now,
      updated_at: now,
      state: "running",
      unit: null,
      units: {},
      checkpoints: {},
      resources: {},
    };
  }

  /** Writes now and then every 500 ms until `finish`. */
  start(): void {
    this.write();
    this.timer = setInterval(() => this.write(), 500);
    // The timer must not keep a finished process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Something changed: write now unless the last write is under 200 ms old (the timer follows). */
  changed(): void {
    if (this.timer !== undefined && Date.now() - this.lastWrite >= 200) this.write();
  }

  resource(name: string): ResourceStatus {
    let status = this.document.resources[name];
    if (!status) this.document.resources[name] = status = { pages: 0, records: 0, retries: 0, errors: [] };
    return status;
  }

  unit(name: string, state: "running" | "committed" | "failed"): void {
    this.document.units[name] = state;
    this.document.unit = state === "running" ? name : null;
  }

  /** The progress of `unit` in checkpoints (created at zero). */
  progress(unit: string): UnitProgress {
    let progress = this.document.checkpoints[unit];
    if (!progress) this.document.checkpoints[unit] = progress = { checkpoints: 0, rows_committed: 0, cursor: null };
    return progress;
  }

  finish(state: RunStatusDocument["state"]): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.document.state = state;
    this.document.unit = null;
    this.write();
  }

  /**
   * Writes off the main thread: while DuckDB flushes a large commit, a rename can wait on the file
   * system for a long time, and extraction must not wait with it. One write at a time; a change
   * meanwhile is written right after.
   */
  private write(): void {
    this.lastWrite = Date.now();
    if (this.writing) {
      this.again = true;
      return;
    }
    this.writing = (async () => {
      do {
        this.again = false;
        this.document.updated_at = new Date().toISOString();
        const text = this.redactor.redact(JSON.stringify(this.document, null, 2));
        const temp = `${this.path}.${process.pid}.tmp`;
        try {
          await writeFile(temp, text, { mode: 0o644 });
          await rename(temp, this.path);
        } catch {
          // The status file is informational: a full disk or a read-only directory must not fail the run.
        }
      } while (this.again);
      this.writing = undefined;
    })();
  }

  /** Resolves once the writes started so far are on disk. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }
}
