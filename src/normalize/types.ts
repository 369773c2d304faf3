// Column types: what a value looks like, whether it fits a column, and DuckDB's name for each.
import { type ColumnHint, defaultDecimal } from "../config/schema/resource.ts";

/** restload's data types (dlt's names); each maps to one DuckDB type. */
export type DataType = "text" | "bigint" | "hugeint" | "double" | "bool" | "timestamp" | "date" | "decimal" | "json";

const int64Max = 2n ** 63n - 1n;
const int64Min = -(2n ** 63n);
const int128Max = 2n ** 127n - 1n;
const int128Min = -(2n ** 127n);

/** ISO 8601 / RFC 3339 timestamps with a time of day (a date alone stays text). */
const isoTimestamp = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2})(?::?(\d{2}))?)?$/i;
const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day: `2024-02-30` is shaped like a date but is none. */
function validDay(year: string, month: string, day: string): boolean {
  const m = Number(month);
  const d = Number(day);
  const y = Number(year);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return m >= 1 && m <= 12 && d >= 1 && d <= days;
}

/** The parts of a timestamp that names a real moment (a real day, hours 0–23, minutes and seconds 0–59), or null. */
function timestampMatch(value: string): RegExpExecArray | null {
  const match = isoTimestamp.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, , , offsetHours, offsetMinutes] = match;
  const real =
    validDay(year!, month!, day!) &&
    Number(hour) <= 23 &&
    Number(minute) <= 59 &&
    (second === undefined || Number(second) <= 59) &&
    (offsetHours === undefined || Number(offsetHours) <= 23) &&
    (offsetMinutes === undefined || Number(offsetMinutes) <= 59);
  return real ? match : null;
}

function isTimestamp(value: string): boolean {
  return timestampMatch(value) !== null;
}

/**
 * The instant a timestamp names, in microseconds since the epoch (digits past the microsecond
 * dropped; no offset read as UTC); undefined when it names none (`2024-02-30T10:00:00Z`).
 */
export function timestampMicros(value: string): bigint | undefined {
  const match = timestampMatch(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second = "0", fraction = "", sign, offsetHours = "0", offsetMinutes = "0"] = match;
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  const millis = sign === "-" ? utc + offset : utc - offset;
  return BigInt(millis) * 1000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
}

/** A date alone (`2024-01-31`) that names a real calendar day. */
export function isDate(value: string): boolean {
  const match = isoDate.exec(value);
  return match !== null && validDay(match[1]!, match[2]!, match[3]!);
}

/**
 * A timestamp written the way DuckDB's cast reads it, same instant: `T` and `Z` upper case (RFC
 * 3339 allows both cases) and seconds present (`10:00Z` → `10:00:00Z`).
 */
export function canonicalTimestamp(value: string): string {
  let text = /[tz]/.test(value) ? value.toUpperCase() : value;
  if (text.length > 16 && text[16] !== ":") text = `${text.slice(0, 16)}:00${text.slice(16)}`;
  return text;
}

/** The type a value suggests for a new column; undefined for null. */
export function inferType(value: unknown): DataType | undefined {
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) && Number.isSafeInteger(value) ? "bigint" : "double";
    case "bigint":
      return value >= int64Min && value <= int64Max ? "bigint" : value >= int128Min && value <= int128Max ? "hugeint" : "text";
    case "string":
      return isTimestamp(value) ? "timestamp" : "text";
    case "object":
      return value === null ? undefined : "json";
    default:
      return value === undefined ? undefined : "text";
  }
}

/** True when `value` can be stored in a column of `type` without loss. */
export function fits(type: DataType, value: unknown): boolean {
  switch (type) {
    case "json":
      return true;
    case "text":
      return typeof value === "string";
    case "bool":
      return typeof value === "boolean";
    case "bigint":
      return (
        (typeof value === "number" && Number.isSafeInteger(value)) || (typeof value === "bigint" && value >= int64Min && value <= int64Max)
      );
    case "hugeint":
      return (
        (typeof value === "number" && Number.isSafeInteger(value)) ||
        (typeof value === "bigint" && value >= int128Min && value <= int128Max)
      );
    case "double":
      return typeof value === "number";
    case "timestamp":
      return typeof value === "string" && isTimestamp(value);
    case "date":
      return typeof value === "string" && isDate(value);
    case "decimal":
      return (
        (typeof value === "number" && Number.isFinite(value)) ||
        (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) ||
        typeof value === "bigint"
      );
  }
}

/** DuckDB's type for a column. */
export function duckdbType(type: DataType, hint?: ColumnHint): string {
  switch (type) {
    case "text":
      return "VARCHAR";
    case "bigint":
      return "BIGINT";
    case "hugeint":
      return "HUGEINT";
    case "double":
      return "DOUBLE";
    case "bool":
      return "BOOLEAN";
    case "timestamp":
      return "TIMESTAMPTZ";
    case "date":
      return "DATE";
    case "decimal": {
      // A hint comes with its size resolved; an existing DECIMAL column loaded without a hint is
      // read at the default size and DuckDB casts on insert.
      const { precision, scale } = hint?.precision !== undefined && hint.scale !== undefined ? hint : defaultDecimal;
      return `DECIMAL(${precision},${scale})`;
    }
    case "json":
      return "JSON";
  }
}

/** The restload type of an existing DuckDB column, or undefined for types restload does not write. */
export function fromDuckdbType(name: string): DataType | undefined {
  const upper = name.toUpperCase();
  if (upper === "VARCHAR") return "text";
  if (upper === "BIGINT") return "bigint";
  if (upper === "HUGEINT") return "hugeint";
  if (upper === "DOUBLE") return "double";
  if (upper === "BOOLEAN") return "bool";
  if (upper === "TIMESTAMP WITH TIME ZONE" || upper === "TIMESTAMPTZ") return "timestamp";
  if (upper === "DATE") return "date";
  if (upper.startsWith("DECIMAL")) return "decimal";
  if (upper === "JSON") return "json";
  return undefined;
}
