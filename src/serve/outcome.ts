// Which recorded run the health check, the metrics and the page judge a pipeline by: the newest one
// that finished, or that ended without finishing (its process gone); runs going on are passed over.
// Also the one rule for the status a run is shown with.
import { runProcessAlive } from "../state/status-file.ts";
import type { DatabaseSnapshot, PipelineSnapshot, RunRow } from "./types.ts";

/**
 * What a recorded run is now: `finished` (its end is recorded), `in_progress` (a live run),
 * `ended_unread` (its status file says it ended after the data was read: the next read shows how),
 * or `dead` (recorded as running, but its process is gone: killed with -9, crashed, its machine lost).
 */
export type RunPhase = "finished" | "in_progress" | "ended_unread" | "dead";

/**
 * A run recorded as running without a live status document (it records its start before it writes
 * its first one, and a newer run of the dataset overwrites it) is judged by its process: on this
 * machine its pid decides; a run of another machine counts as going on for a while after its start.
 */
export function runPhase(run: RunRow, db: DatabaseSnapshot, now: number): RunPhase {
  if (run.status !== "running") return "finished";
  if (db.live.some((live) => live.run_id === run.run_id)) return "in_progress";
  if (db.ended_run_ids.includes(run.run_id)) return "ended_unread";
  return runProcessAlive({ pid: run.pid, host: run.host, seenAt: Date.parse(run.started_at) }, now) ? "in_progress" : "dead";
}

/**
 * The status a run is shown with, everywhere (badges, the runs table, the run detail): its
 * recorded status, `unfinished` for a dead one (recorded as running, its process gone).
 */
export function shownStatus(run: RunRow, db: DatabaseSnapshot, now: number): string {
  return statusIn(run, runPhase(run, db, now));
}

export interface Outcome {
  readonly run: RunRow;
  /** `dead`: recorded as running, its process gone. */
  readonly phase: "finished" | "dead";
  /** The run's status as shown (`shownStatus`). */
  readonly status: string;
}

/** The newest run of the pipeline that finished or died, or null when there is none yet. */
export function lastOutcome(pipeline: PipelineSnapshot, db: DatabaseSnapshot, now: number): Outcome | null {
  for (const run of pipeline.runs) {
    const phase = runPhase(run, db, now);
    if (phase === "finished" || phase === "dead") return { run, phase, status: statusIn(run, phase) };
  }
  return null;
}

/** The run of the pipeline going on now, from its status file, or null. */
export function liveRun(pipeline: PipelineSnapshot, db: DatabaseSnapshot): DatabaseSnapshot["live"][number] | null {
  return db.live.find((live) => live.pipeline === pipeline.pipeline && live.dataset === pipeline.dataset) ?? null;
}

// internal

function statusIn(run: RunRow, phase: RunPhase): string {
  return phase === "dead" ? "unfinished" : run.status;
}
