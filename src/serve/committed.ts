// Keeps each database's newest committed data for the page. A request never answers from a read
// older than the file: when the file changed since the last read (or none succeeded yet) it reads
// it first, waiting briefly while a run holds it. In the background the files are looked at every
// 250 ms and read once changed (at most once a second, so a run committing many checkpoints is not
// held up), retried while held, and read every 10 s anyway. While the file is held, the last good
// read is kept and served, with its time, so nothing shown or measured disappears.
import { existsSync, statSync } from "node:fs";
import { RestloadError, messageOf } from "../errors.ts";
import { isLiveStatus, readStatusDocuments } from "../state/status-file.ts";
import { readPipelines } from "./read-database.ts";
import type { DatabaseSnapshot, PipelineSnapshot, ReadFailure } from "./types.ts";

/** Timings of re-reading. */
const timings = {
  /** How often the files are looked at (a stat) in the background. */
  pollMs: 250,
  /** The shortest time between two attempts while a run holds the file. */
  retryMs: 200,
  /** The shortest time between two attempts after another failure (a damaged or unreadable file) when the file did not change. */
  failedRetryMs: 5000,
  /** In the background, the shortest time between two reads: a run committing many checkpoints a second is not held up by reads. */
  minReadMs: 1000,
  /** A file that looks unchanged is read again after this long (file systems with coarse times). */
  resyncMs: 10_000,
  /**
   * How long a request waits for a held file that changed since the last read: a run holds it for
   * the milliseconds a commit takes. A longer hold is not waited for again until a read succeeds.
   */
  requestWaitMs: 1500,
} as const;

/** Why the newest attempt to read failed: no file, held by another process, or something else. */
interface Failure {
  readonly kind: ReadFailure;
  readonly reason: string;
  readonly at: number;
  /** The file's stamp when the attempt began. */
  readonly stamp: string | null;
}

/** One database's committed data: the last good read, and why the newest attempt failed. */
export class CommittedData {
  private good: { pipelines: PipelineSnapshot[]; readAt: number; startedAt: number; stamp: string } | null = null;
  private failure: Failure | null = null;
  private reading: Promise<void> | null = null;
  /** A request waited `requestWaitMs` and the file stayed held: later requests do not wait again until a read succeeds. */
  private longHold = false;

  constructor(
    readonly database: string,
    /** Wall-clock time (read times, ages); waits are measured with `performance.now()`. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * For the background: reads the file when it changed since the last good read (at most every
   * `minReadMs`), when the last attempt failed (held: every `retryMs`; else every `failedRetryMs`
   * or once the file changed), or when the last read is `resyncMs` old. Never waits for a lock.
   */
  poll(): Promise<void> {
    if (this.reading) return this.reading;
    const stamp = fileStamp(this.database);
    if (stamp === null) return this.missing();
    const now = this.now();
    const failure = this.failure;
    let due: boolean;
    if (failure?.kind === "locked") due = now - failure.at >= timings.retryMs;
    else if (failure?.kind === "failed") due = failure.stamp !== stamp || now - failure.at >= timings.failedRetryMs;
    else if (this.good === null) due = true;
    else {
      const age = now - this.good.readAt;
      due = age >= timings.resyncMs || (this.good.stamp !== stamp && age >= timings.minReadMs);
    }
    return due ? this.attempt(stamp) : Promise.resolve();
  }

  /**
   * For a request: resolves once the data kept is as new as the file, or the file cannot be read.
   * Reads when the file changed since the last good read or none succeeded yet; while another
   * process holds it, retries for up to `requestWaitMs` (once per hold: see `longHold`). After
   * another failure it reads again once the file changed, or `failedRetryMs` after that failure.
   */
  async fresh(): Promise<void> {
    const start = performance.now();
    for (;;) {
      while (this.reading) await this.reading;
      const stamp = fileStamp(this.database);
      if (stamp === null) return this.missing();
      const failure = this.failure;
      if (failure?.kind === "failed") {
        if (failure.stamp === stamp && this.now() - failure.at < timings.failedRetryMs) return;
      } else if (this.good !== null && this.good.stamp === stamp) return;
      await this.attempt(stamp);
      if (this.failure?.kind !== "locked") return;
      if (this.longHold) return;
      if (performance.now() - start >= timings.requestWaitMs) {
        this.longHold = true;
        return;
      }
      await new Promise((done) => setTimeout(done, timings.retryMs));
    }
  }

  /** What the page shows: the last good read with the live runs of the status files, read now. */
  snapshot(): DatabaseSnapshot {
    const now = this.now();
    const documents = readStatusDocuments(this.database);
    const good = this.good;
    return {
      database: this.database,
      read_at: good ? new Date(good.readAt).toISOString() : null,
      pipelines: good?.pipelines ?? [],
      live: documents.filter((document) => isLiveStatus(document, now)),
      // A run that ended after the last read began: its end may not be in the data read yet.
      ended_run_ids: documents
        .filter((document) => document.state !== "running" && (good === null || Date.parse(document.updated_at) >= good.startedAt))
        .map((document) => document.run_id),
      note: this.failure?.reason ?? null,
      read_failure: this.failure?.kind ?? null,
    };
  }

  // internal

  private missing(): Promise<void> {
    // Read before: the file was removed or moved since (a path changed under the service?).
    const reason = this.good
      ? "the database file is gone (removed or moved since it was read)"
      : "the database does not exist yet (no run so far)";
    this.failure = { kind: "missing", reason, at: this.now(), stamp: null };
    return Promise.resolve();
  }

  /** One attempt to read, never waiting for a lock; concurrent callers share it. */
  private attempt(stamp: string): Promise<void> {
    this.reading = this.read(stamp).finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async read(stamp: string): Promise<void> {
    const startedAt = this.now();
    try {
      const pipelines = await readPipelines(this.database);
      // The stamp taken before reading: a commit landing during the read makes the next look read again.
      this.good = { pipelines, readAt: this.now(), startedAt, stamp };
      this.failure = null;
      this.longHold = false;
    } catch (error) {
      const locked = error instanceof RestloadError && error.code === "E_LOCKED";
      if (!locked) this.longHold = false;
      this.failure = { kind: locked ? "locked" : "failed", reason: failureReason(error), at: this.now(), stamp };
    }
  }
}

/** Every database given to `serve`, polled in the background while started. */
export class CommittedDatabases {
  readonly all: readonly CommittedData[];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(databases: readonly string[], now: () => number = Date.now) {
    this.all = databases.map((database) => new CommittedData(database, now));
  }

  /** Looks at the files every `pollMs`, so newly committed runs are read even when nobody asks. */
  start(): void {
    if (this.timer !== undefined) return;
    let polling = false;
    this.timer = setInterval(async () => {
      if (polling) return;
      polling = true;
      await Promise.all(this.all.map((data) => data.poll())).finally(() => {
        polling = false;
      });
    }, timings.pollMs);
    for (const data of this.all) void data.poll();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The snapshots once each is as new as its file: a request sees a commit that landed just before it. */
  async current(): Promise<DatabaseSnapshot[]> {
    await Promise.all(this.all.map((data) => data.fresh()));
    return this.all.map((data) => data.snapshot());
  }
}

// internal

/** Size, modification and change times of the file and its WAL: any commit moves one of them. */
function fileStamp(path: string): string | null {
  if (!existsSync(path)) return null;
  const stamp = (file: string) => {
    try {
      const stat = statSync(file);
      return `${stat.mtimeMs}:${stat.ctimeMs}:${stat.size}`;
    } catch {
      return "-";
    }
  };
  return `${stamp(path)}|${stamp(`${path}.wal`)}`;
}

function failureReason(error: unknown): string {
  if (error instanceof RestloadError && error.code === "E_LOCKED") {
    // Only the pid: a holder's command line is not shown on a page that may be served beyond loopback.
    const pid = /\(PID (\d+)\)/.exec(messageOf(error.cause))?.[1];
    return `the file is held by ${pid ? `process ${pid}` : "another process"} (a run writing); it is read again as soon as it is let go`;
  }
  return messageOf(error);
}
