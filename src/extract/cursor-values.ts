// Cursor values: their type, typed comparison (numbers as numbers, RFC 3339 strings as instants),
// lag arithmetic and the conversions requests may ask for.
import { RestloadError } from "../errors.ts";
import { isDate, timestampMicros } from "../normalize/types.ts";

export type CursorType = "timestamp" | "date" | "bigint" | "double" | "text";

/** The type of a cursor value, or undefined for values that cannot be cursors (objects, booleans). */
export function cursorType(value: unknown): CursorType | undefined {
  if (typeof value === "bigint") return "bigint";
  if (typeof value === "number") return Number.isInteger(value) ? "bigint" : "double";
  if (typeof value !== "string") return undefined;
  // Only a real moment or a real day (not 2024-02-30, not a zero date): anything else is text.
  if (timestampMicros(value) !== undefined) return "timestamp";
  if (isDate(value)) return "date";
  return "text";
}

/** Microseconds since the epoch of a timestamp or a date (UTC); the caller checked its type. */
export function instantMicros(value: string): bigint {
  return timestampMicros(value) ?? BigInt(Date.parse(`${value}T00:00:00Z`)) * 1000n;
}

/**
 * Compares two cursor values: < 0, 0, > 0. Mixed types (a number and a date) are an error that
 * names the resource: a cursor must keep one type.
 */
export function compareCursor(a: unknown, b: unknown, resource: string): number {
  const ta = cursorType(a);
  const tb = cursorType(b);
  if (ta === "bigint" && tb === "bigint") {
    const x = BigInt(a as number | bigint);
    const y = BigInt(b as number | bigint);
    return x > y ? 1 : x < y ? -1 : 0;
  }
  if ((ta === "bigint" || ta === "double") && (tb === "bigint" || tb === "double")) return Math.sign(Number(a) - Number(b));
  if ((ta === "timestamp" || ta === "date") && (tb === "timestamp" || tb === "date")) {
    const diff = instantMicros(a as string) - instantMicros(b as string);
    return diff > 0n ? 1 : diff < 0n ? -1 : 0;
  }
  if (ta === "text" && tb === "text") return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  throw new RestloadError(
    "E_INCREMENTAL",
    `Cannot compare cursor values ${JSON.stringify(String(a))} (${ta ?? typeof a}) and ${JSON.stringify(String(b))} (${tb ?? typeof b}) of resource "${resource}": a cursor keeps one type`,
    {
      hint: "Check cursor_path and initial_value: both must be timestamps, dates, numbers or strings.",
      context: { resource },
    },
  );
}

/** `value` moved back by `lag` (seconds for timestamps, days for dates, units for numbers). */
export function subtractLag(value: unknown, lag: number): unknown {
  const type = cursorType(value);
  if (type === "bigint") return typeof value === "bigint" ? value - BigInt(Math.round(lag)) : (value as number) - lag;
  if (type === "double") return (value as number) - lag;
  if (type === "timestamp")
    return new Date(Number(instantMicros(value as string) / 1000n) - lag * 1000).toISOString().replace(".000Z", "Z");
  if (type === "date") return new Date(Date.parse(`${value as string}T00:00:00Z`) - lag * 86_400_000).toISOString().slice(0, 10);
  return value;
}

/** A cursor value as a request sends it, by `convert`. */
export function convertForRequest(value: unknown, convert: string | null): unknown {
  if (convert === null || value === null || value === undefined) return value;
  const type = cursorType(value);
  const millis =
    type === "timestamp" || type === "date"
      ? Number(instantMicros(value as string) / 1000n)
      : typeof value === "number"
        ? value * 1000
        : Number(value) * 1000;
  switch (convert) {
    case "epoch_seconds":
      return type === "bigint" || type === "double" ? value : Math.floor(millis / 1000);
    case "epoch_millis":
      return type === "bigint" || type === "double" ? Number(value) * 1000 : millis;
    case "date":
      return new Date(millis).toISOString().slice(0, 10);
    case "iso":
      return new Date(millis).toISOString().replace(".000Z", "Z");
    default:
      return value;
  }
}

/** The stored text of a cursor value, and back. */
export function storeCursor(value: unknown): { text: string; type: CursorType } {
  return { text: String(value), type: cursorType(value) ?? "text" };
}

export function loadCursor(text: string, type: string): unknown {
  if (type === "bigint") return /^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text)) ? BigInt(text) : Number(text);
  if (type === "double") return Number(text);
  return text;
}
