// What a run has done so far, counted from its events and its requests: the figures of its
// `run_finished` line when an error ends the command before the run returns its summary.
import type { RunEvent } from "../run/index.ts";

export interface RunTallyFigures {
  /** Rows committed: a committed unit's total, a failed unit's checkpoints. */
  readonly rows: number;
  readonly requests: number;
  readonly retries: number;
}

export class RunTally {
  /** Rows committed per unit so far. */
  private readonly rows = new Map<string, number>();
  private retries = 0;
  private requests = 0;

  /** Takes every event of the run. */
  count(event: RunEvent): void {
    switch (event.type) {
      case "checkpoint":
        this.rows.set(event.unit, (this.rows.get(event.unit) ?? 0) + event.rows);
        break;
      case "unit_committed":
        // Over all of the unit's checkpoints, the final one included.
        this.rows.set(
          event.unit,
          Object.values(event.rows_by_table).reduce((sum, count) => sum + count, 0),
        );
        break;
      case "retry":
        this.retries++;
        break;
    }
  }

  /**
   * `fetch` (the global one when undefined), each call counted: the run sends every request,
   * each attempt of a retried one included, through one call of the fetch it is given.
   */
  counting(fetch: typeof globalThis.fetch | undefined): typeof globalThis.fetch {
    const send = fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
    return ((input: RequestInfo | URL, init?: RequestInit) => {
      this.requests++;
      return send(input, init);
    }) as typeof globalThis.fetch;
  }

  figures(): RunTallyFigures {
    const rows = [...this.rows.values()].reduce((sum, count) => sum + count, 0);
    return { rows, requests: this.requests, retries: this.retries };
  }
}
