// The live status file `<database>.<dataset>.status.json`: what a run is doing, rewritten atomically (temp
// file + rename) at the start, every 500 ms, after a change once the last write is 200 ms old, and
// at the end, so the status page can show a run that holds the database. It never holds secrets.
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Redactor } from "../config/redact.ts";
import { processAlive } from "../util/process-alive.ts";

/** `<database>.<dataset>.status.json`: the one place the name is made, and found again by `readStatusDocuments`. */
const statusName = { before: ".", after: ".status.json" } as const;

/**
 * The status file of a run of `dataset` into `database`: one per dataset, so pipelines loading
 * other datasets of the same file at the same time do not overwrite each other's.
 */
export function statusFilePath(database: string, dataset: string): string {
  return `${database}${statusName.before}${dataset}${statusName.after}`;
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

/**
 * The status documents beside `database` (`<database>.<dataset>.status.json`, one per dataset),
 * newest start first. A file half-written by hand, or removed between listing and reading, is
 * skipped: the documents are informational.
 */
export function readStatusDocuments(database: string): RunStatusDocument[] {
  const prefix = `${basename(database)}${statusName.before}`;
  let names: string[];
  try {
    names = readdirSync(dirname(database)).filter((name) => name.startsWith(prefix) && name.endsWith(statusName.after));
  } catch {
    return [];
  }
  const documents: RunStatusDocument[] = [];
  for (const name of names) {
    try {
      const document = JSON.parse(readFileSync(join(dirname(database), name), "utf8")) as RunStatusDocument;
      if (typeof document.run_id === "string" && typeof document.started_at === "string" && typeof document.updated_at === "string")
        documents.push(document);
    } catch {
      // Not a status document (yet): nothing to show.
    }
  }
  return documents.sort((a, b) => b.started_at.localeCompare(a.started_at));
}

/**
 * A run on another machine (sharing the database's volume) whose status document was not
 * rewritten for this long is taken for gone. It is rewritten every 500 ms, but a long synchronous
 * step (a large commit, a big page parsed) may hold it up for a while: the bound is generous.
 */
export const foreignRunStaleMs = 120_000;

/**
 * Whether the process of a run is going on. On this machine its pid decides (alive: going on).
 * A run of another machine cannot be probed: it is going on while it showed a sign of life
 * (`seenAt`, ms: its status document's last write, or its start) within `foreignRunStaleMs`. A
 * `host` of null (not recorded) counts as another machine. The price of not taking a long silent
 * step for death: a killed run's pid reused since by another process keeps it `running` until the
 * next run of the pipeline records it interrupted. (Containers sharing one hostname but not their
 * pids would need the other rule: give them hostnames of their own.)
 */
export function runProcessAlive(
  run: { readonly pid: number | null; readonly host: string | null; readonly seenAt: number },
  now: number,
): boolean {
  if (run.host === hostname()) return run.pid !== null && processAlive(run.pid);
  return now - run.seenAt < foreignRunStaleMs;
}

/**
 * Whether the document is of a run going on now: state `running` and its process going on
 * (`runProcessAlive`). A run killed with -9 leaves `running` behind: its pid is gone (on this
 * machine) or its document stops being rewritten (elsewhere).
 */
export function isLiveStatus(document: RunStatusDocument, now: number = Date.now()): boolean {
  return (
    document.state === "running" &&
    runProcessAlive({ pid: document.pid, host: document.host ?? null, seenAt: Date.parse(document.updated_at) }, now)
  );
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
  /** The machine the run is on (absent in documents of older versions): where `pid` means something. */
  host?: string;
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
      host: hostname(),
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
