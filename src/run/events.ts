// The run's event tee: each event counted per resource (for `_rl_loads`) and mirrored into the
// status file before it reaches the caller.
import { errorLine } from "../errors.ts";
import type { StatusFile } from "../state/status-file.ts";
import type { RunEvent, RunOptions } from "./types.ts";

/** Pages, records and retries per resource of the unit in progress, for its `_rl_loads` row. */
export type ResourceStats = Record<string, { pages: number; records: number; retries: number }>;

/** Counts pages, records and retries per resource, then passes events on. */
export function countResources(stats: ResourceStats, next: (event: RunEvent) => void): (event: RunEvent) => void {
  return (event) => {
    const name = event.type === "page" || event.type === "retry" ? event.resource : undefined;
    if (name !== undefined) {
      const entry = (stats[name] ??= { pages: 0, records: 0, retries: 0 });
      if (event.type === "page") {
        entry.pages++;
        entry.records += event.records;
      } else entry.retries++;
    }
    next(event);
  };
}

/** Mirrors run events into the status file, then passes them on. */
export function trackStatus(status: StatusFile, next: RunOptions["onEvent"]): (event: RunEvent) => void {
  return (event) => {
    switch (event.type) {
      case "unit_started":
        status.unit(event.unit, "running");
        status.progress(event.unit);
        break;
      case "page": {
        const resource = status.resource(event.resource);
        resource.pages++;
        resource.records += event.records;
        break;
      }
      case "retry":
        status.resource(event.resource).retries++;
        break;
      case "checkpoint": {
        const progress = status.progress(event.unit);
        progress.checkpoints = event.checkpoint;
        progress.rows_committed += event.rows;
        progress.cursor = event.cursor;
        break;
      }
      case "unit_committed": {
        status.unit(event.unit, "committed");
        const progress = status.progress(event.unit);
        progress.checkpoints = event.checkpoints;
        progress.rows_committed = Object.values(event.rows_by_table).reduce((sum, count) => sum + count, 0);
        break;
      }
      case "unit_failed":
        status.unit(event.unit, "failed");
        status.resource(event.unit).errors.push(errorLine(event.error));
        break;
    }
    status.changed();
    next?.(event);
  };
}
