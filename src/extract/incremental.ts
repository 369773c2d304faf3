// One chain's incremental cursor: the values its requests carry, the client-side range filter,
// de-duplication at the stored boundary, the windows a `window` slices its range into, and the
// cursor to store once the unit commits.
import { createHash } from "node:crypto";
import { RestloadError } from "../errors.ts";
import type { PlannedIncremental } from "../plan/index.ts";
import { canonicalJson } from "../util/canonical-json.ts";
import { toJson } from "../util/json.ts";
import { compareCursor, convertForRequest, cursorType, subtractLag } from "./cursor-values.ts";
import { valueAt } from "./select.ts";
import { type CursorWindow, type WindowSize, windowSize, windowsBetween, windowsEnd } from "./windows.ts";

/** A cursor as stored in `_rl_state`. */
export interface StoredCursor {
  readonly lastValue: unknown;
  /** Keys of the records whose cursor equals `lastValue` (already loaded). */
  readonly boundaryKeys: readonly string[];
}

export interface RequestValues {
  /** Values of `{incremental.*}` placeholders. */
  readonly placeholders: { start_value: unknown; initial_value: unknown; last_value: unknown; end_value: unknown };
  /** start_param / end_param values. */
  readonly params: Record<string, unknown>;
}

export class IncrementalCursor {
  private best: unknown;
  private bestKeys = new Set<string>();
  /** The range requests ask for and records are filtered against: the whole range, or the current window. */
  private start: unknown;
  private end: unknown;
  private dedupe: ReadonlySet<string>;
  /** With `window`: its size, where the first window starts and where the last one ends. */
  private readonly windowed: { size: WindowSize; from: unknown; to: unknown } | undefined;
  /** The end of the last finished window: the cursor a windowed chain stores. */
  private finishedEnd: unknown;

  constructor(
    private readonly config: PlannedIncremental,
    private readonly resource: string,
    /** Source field names of the primary key; empty: a hash of the whole record is its key. */
    private readonly primaryKey: readonly string[],
    private readonly stored: StoredCursor | undefined,
    /** `convert = { module, export }`, loaded: how cursor values are written into requests. */
    private readonly convertHook?: (value: unknown) => unknown,
    /** The run's start (ms since the epoch): where timestamp and date windows end without end_value. */
    now: number = Date.now(),
  ) {
    if (config.convert !== null && typeof config.convert === "object" && !convertHook) {
      throw new RestloadError("E_INCREMENTAL", `The convert hook of resource "${resource}" was not loaded`, { context: { resource } });
    }
    const size = config.window === null ? undefined : windowSize(config.window);
    // A backfill window (end_value) is [initial_value, end_value): the stored cursor neither moves nor applies.
    // With `window`, end_value only ends the last window: the stored cursor applies and moves.
    const state = config.end_value === null || size ? stored : undefined;
    const last = state?.lastValue ?? config.initial_value;
    this.start = config.lag !== null && last !== null && last !== undefined && state ? subtractLag(last, config.lag) : last;
    this.end = config.end_value;
    // With lag, records inside the lag window load again (dlt's rule): no boundary de-duplication.
    this.dedupe = new Set(config.lag === null && config.range_start === "closed" && state ? state.boundaryKeys : []);
    this.best = state?.lastValue;
    if (state && config.lag === null) for (const key of state.boundaryKeys) this.bestKeys.add(key);
    if (size) {
      this.windowed = { size, from: this.start, to: windowsEnd(this.start, config.end_value, now) };
      this.end = this.windowed.to;
      // Until a window is entered (a probe, `extract`), requests ask for the first one.
      const first = windowsBetween(this.windowed.from, this.windowed.to, size).next();
      if (!first.done) this.enter(first.value);
    }
  }

  /**
   * The windows this chain requests one after another, each as its own request chain; undefined
   * without `window` (one chain for the whole range). Empty when nothing is left to ask for.
   */
  windows(): Iterable<CursorWindow> | undefined {
    return this.windowed && windowsBetween(this.windowed.from, this.windowed.to, this.windowed.size);
  }

  /** Requests and the record filter now cover `window`. */
  enter(window: CursorWindow): void {
    this.start = window.start;
    this.end = window.end;
    // The stored boundary's keys only matter where the first window starts, at the stored cursor.
    if (window.index > 0) this.dedupe = new Set();
  }

  /**
   * Every record of `window` is extracted: the cursor moves to its end (records equal to it belong
   * to the next window, so no boundary keys). Returns the cursor to store as of this point.
   */
  finish(window: CursorWindow): StoredCursor {
    this.finishedEnd = window.end;
    return { lastValue: window.end, boundaryKeys: [] };
  }

  requestValues(): RequestValues {
    const named = typeof this.config.convert === "string" ? this.config.convert : null;
    const hook = this.convertHook;
    const convert = (value: unknown) => (hook && value !== null && value !== undefined ? hook(value) : convertForRequest(value, named));
    const start = convert(this.start);
    const end = convert(this.end);
    const params: Record<string, unknown> = {};
    if (this.config.start_param && start !== null && start !== undefined) params[this.config.start_param] = start;
    if (this.config.end_param && end !== null && end !== undefined) params[this.config.end_param] = end;
    return {
      placeholders: {
        start_value: start,
        initial_value: convert(this.config.initial_value),
        last_value: convert(
          (this.config.end_value === null || this.windowed ? this.stored?.lastValue : undefined) ?? this.config.initial_value,
        ),
        end_value: end,
      },
      params,
    };
  }

  /**
   * The records of a page that are inside the range and not loaded before; `stop` when the page
   * shows (by `row_order`) that later pages are all outside the range.
   */
  filter(records: readonly unknown[]): { kept: unknown[]; stop: boolean } {
    const { config, resource } = this;
    const kept: unknown[] = [];
    let stop = false;
    const sign = config.last_value_func === "max" ? 1 : -1;
    for (let index = 0; index < records.length; index++) {
      const record = records[index];
      const value = valueAt(record, config.cursor_path);
      if (value === undefined || value === null) {
        if (config.on_cursor_value_missing === "include") kept.push(record);
        else if (config.on_cursor_value_missing === "raise") {
          throw new RestloadError(
            "E_INCREMENTAL",
            `Cannot read the cursor of resource "${resource}": a record has no value at "${config.cursor_path}"`,
            {
              hint: 'Check cursor_path, or set on_cursor_value_missing = "include" or "exclude".',
              context: { resource },
            },
          );
        }
        continue;
      }
      if (cursorType(value) === undefined) {
        throw new RestloadError(
          "E_INCREMENTAL",
          `Cannot use ${JSON.stringify(value)} at "${config.cursor_path}" as the cursor of resource "${resource}"`,
          {
            hint: "A cursor is a timestamp, a date, a number or a string.",
            context: { resource },
          },
        );
      }
      if (this.start !== null && this.start !== undefined) {
        const fromStart = sign * compareCursor(value, this.start, resource);
        if (fromStart < 0 || (fromStart === 0 && config.range_start === "open")) {
          if (config.row_order !== null && (config.row_order === "desc") === sign > 0) stop = true;
          continue;
        }
        if (fromStart === 0 && this.dedupe.size > 0 && this.dedupe.has(this.keyOf(record))) continue;
      }
      if (this.end !== null && this.end !== undefined) {
        const toEnd = sign * compareCursor(value, this.end, resource);
        if (toEnd > 0 || (toEnd === 0 && config.range_end === "open")) {
          if (config.row_order !== null && (config.row_order === "asc") === sign > 0) stop = true;
          continue;
        }
      }
      kept.push(record);
      const better = this.best === undefined || this.best === null ? 1 : sign * compareCursor(value, this.best, resource);
      if (better > 0) {
        this.best = value;
        this.bestKeys = new Set([this.keyOf(record)]);
      } else if (better === 0) {
        this.bestKeys.add(this.keyOf(record));
      }
    }
    return { kept, stop };
  }

  /**
   * The cursor a rerun may continue from as of now, or undefined when it must stay as it is (a
   * backfill range, no window finished yet): the end of the last finished window for a windowed
   * chain, else the greatest value so far with the keys of its records (exact at the end of the
   * chain, and at a page boundary when records arrive in cursor order). Stored at each checkpoint.
   */
  snapshot(): StoredCursor | undefined {
    // A windowed chain stores where its last finished window ended, not its greatest record.
    if (this.windowed) return this.finishedEnd === undefined ? undefined : { lastValue: this.finishedEnd, boundaryKeys: [] };
    if (this.config.end_value !== null) return undefined;
    if (this.best === undefined || this.best === null) return undefined;
    return { lastValue: this.best, boundaryKeys: [...this.bestKeys].sort() };
  }

  // internal

  private keyOf(record: unknown): string {
    if (this.primaryKey.length > 0) return toJson(this.primaryKey.map((field) => valueAt(record, field) ?? null));
    return `#${createHash("sha256").update(canonicalJson(record)).digest("hex").slice(0, 32)}`;
  }
}
