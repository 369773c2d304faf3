// Incremental windows (`window = "7d"`): the size, where a run's range ends, and its consecutive
// [start, end) slices, for timestamp, date and numeric cursors.
import { durationSeconds } from "../util/duration.ts";
import { cursorType, instantMicros } from "./cursor-values.ts";

/** `window` as resolved: a duration (timestamp and date cursors) or a number (numeric cursors). */
export type WindowSize =
  | { readonly kind: "duration"; readonly text: string; readonly micros: bigint }
  | { readonly kind: "number"; readonly size: number };

/** One slice of the range, requested as [start, end) with values of the cursor's own type. */
export interface CursorWindow {
  /** 0 for the first window of the chain. */
  readonly index: number;
  readonly start: unknown;
  readonly end: unknown;
}

/** `window` as written -> its size; undefined when it is neither a duration with a unit nor a number above 0. */
export function windowSize(window: string | number | bigint): WindowSize | undefined {
  if (typeof window === "string") {
    const seconds = durationSeconds(window);
    // Whole microseconds: the instants windows are cut at are microseconds.
    const micros = seconds === undefined ? 0n : BigInt(Math.round(seconds * 1_000_000));
    return micros > 0n ? { kind: "duration", text: window, micros } : undefined;
  }
  const size = Number(window);
  return Number.isFinite(size) && size > 0 ? { kind: "number", size } : undefined;
}

/**
 * Where a run's windows end: `end_value`, else the run's start; for timestamps and dates never
 * after the run's start (a timestamp cut to the whole second, a date to the day that has begun,
 * so a day loads once it is over). Numbers end at `end_value` (null without one).
 */
export function windowsEnd(start: unknown, endValue: unknown, nowMs: number): unknown {
  const type = cursorType(start);
  if (type !== "timestamp" && type !== "date") return endValue ?? null;
  const day = type === "date";
  const nowMicros = BigInt(Math.floor(nowMs / (day ? 86_400_000 : 1000)) * (day ? 86_400_000 : 1000)) * 1000n;
  const endType = cursorType(endValue);
  const end = endType === "timestamp" || endType === "date" ? instantMicros(endValue as string) : undefined;
  return formatInstant(end !== undefined && end < nowMicros ? end : nowMicros, day);
}

/** The windows from `from` to `to`, `size` each and the last one cut at `to`; none when `from` is not before `to`. */
export function* windowsBetween(from: unknown, to: unknown, size: WindowSize): Generator<CursorWindow> {
  const line = lineOf(from, to, size);
  if (!line) return;
  for (let index = 0; ; index++) {
    const start = line.at(index);
    if (start >= line.to) return;
    const next = line.at(index + 1);
    yield { index, start: line.value(start), end: line.value(next < line.to ? next : line.to) };
  }
}

/** How many windows `windowsBetween` gives, without walking them. */
export function countWindows(from: unknown, to: unknown, size: WindowSize): number {
  const line = lineOf(from, to, size);
  return line ? line.count() : 0;
}

// internal

/** The cursor's values as points: microseconds (timestamps, dates), exact integers or numbers. */
type Point = bigint | number;

interface Line {
  readonly to: Point;
  at(index: number): Point;
  value(point: Point): unknown;
  count(): number;
}

/** The cursor's values as points on a line: microseconds for timestamps and dates, the numbers themselves otherwise. */
function lineOf(from: unknown, to: unknown, size: WindowSize): Line | undefined {
  const type = cursorType(from);
  const toType = cursorType(to);
  if ((type === "timestamp" || type === "date") && (toType === "timestamp" || toType === "date") && size.kind === "duration") {
    const start = instantMicros(from as string);
    const end = instantMicros(to as string);
    const day = type === "date";
    return {
      to: end,
      at: (index) => start + BigInt(index) * size.micros,
      value: (point) => formatInstant(BigInt(point), day),
      count: () => (end <= start ? 0 : Number((end - start + size.micros - 1n) / size.micros)),
    };
  }
  const numeric = (t: unknown) => t === "bigint" || t === "double";
  if (!numeric(type) || !numeric(toType) || size.kind !== "number") return undefined;
  if ((typeof from === "bigint" || typeof to === "bigint") && Number.isInteger(size.size)) {
    // Beyond 2^53 the numbers stay exact.
    const start = BigInt(from as number | bigint);
    const end = BigInt(to as number | bigint);
    const step = BigInt(size.size);
    return {
      to: end,
      at: (index) => start + BigInt(index) * step,
      value: (point) => (Number.isSafeInteger(Number(point)) ? Number(point) : BigInt(point)),
      count: () => (end <= start ? 0 : Number((end - start + step - 1n) / step)),
    };
  }
  const start = Number(from);
  const end = Number(to);
  return {
    to: end,
    // From the start each time, so rounding does not add up over many windows.
    at: (index) => start + index * size.size,
    value: (point) => point,
    count: () => (end <= start ? 0 : Math.ceil((end - start) / size.size)),
  };
}

/** `2024-01-01T00:00:00Z` (fractions only when there are some), or `2024-01-01` for a date cursor. */
function formatInstant(micros: bigint, day: boolean): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const iso = new Date(Number(millis)).toISOString();
  if (day) return iso.slice(0, 10);
  const extra = micros - millis * 1000n;
  if (extra !== 0n) return `${iso.slice(0, -1)}${String(extra).padStart(3, "0")}Z`;
  return iso.replace(/\.000Z$/, "Z");
}

/** What `check` and `run --dry-run` say about a windowed cursor: the windows a run would request. */
export interface WindowOutline {
  /** `window` as written. */
  readonly size: string | number;
  /** Where a run's first window starts. */
  readonly from: string;
  readonly initial_value: unknown;
  /** Where the last window ends. */
  readonly to: string;
  readonly end_value: unknown;
  /** Where the last window of a run started at `as_of` ends. */
  readonly end_as_of: unknown;
  /** How many windows a run from initial_value requests (per parent record for a child), as of `as_of`. */
  readonly windows_from_initial_value: number;
  readonly as_of: string;
}

/** The windows of `config` as of `nowMs`; null without `window` (or with a size `check` refuses). */
export function outlineWindows(
  config: {
    readonly window: string | number | bigint | null;
    readonly initial_value: unknown;
    readonly end_value: unknown;
    readonly lag: number | null;
  },
  nowMs: number,
): WindowOutline | null {
  const size = config.window === null ? undefined : windowSize(config.window);
  if (size === undefined || config.initial_value === null) return null;
  const instants = size.kind === "duration";
  const end = windowsEnd(config.initial_value, config.end_value, nowMs);
  return {
    size: typeof config.window === "bigint" ? Number(config.window) : (config.window as string | number),
    from: `the stored cursor${config.lag === null ? "" : ` minus lag ${config.lag}`}, else initial_value`,
    initial_value: config.initial_value,
    to: config.end_value === null ? "the run's start" : instants ? "end_value, or the run's start when that is earlier" : "end_value",
    end_value: config.end_value,
    end_as_of: end,
    windows_from_initial_value: countWindows(config.initial_value, end, size),
    as_of: new Date(Math.floor(nowMs / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z"),
  };
}

/** `check`'s two lines for an outline: the windows a run requests, and how many from initial_value. */
export function windowsText(outline: WindowOutline, params: { start: string; end: string }, perParent: boolean): [string, string] {
  const end = outline.end_value === null ? outline.to : `${outline.to} (${String(outline.end_value)})`;
  const count = outline.windows_from_initial_value;
  return [
    `${outline.size} each, requested as [${params.start}, ${params.end}), from ${outline.from} ${String(outline.initial_value)}, to ${end}`,
    `${count} window${count === 1 ? "" : "s"} from initial_value as of ${outline.as_of}${perParent ? ", per parent record" : ""}`,
  ];
}

/** A dry run's line (it starts from initial_value): `105 windows of 7d from … to …`. */
export function dryRunWindowsText(outline: WindowOutline, perParent: boolean): string {
  const count = outline.windows_from_initial_value;
  return `${count} window${count === 1 ? "" : "s"} of ${outline.size} from initial_value ${String(outline.initial_value)} to ${String(outline.end_as_of)}${perParent ? ", per parent record" : ""}`;
}
