// Flags shared by several commands, with their parsing and validation.
import { RestloadError } from "../errors.ts";
import { durationSeconds } from "../util/duration.ts";

export const lockTimeoutOption = [
  "--lock-timeout <duration>",
  "Wait this long for another process to release the database: seconds or a duration such as 2m (default: 30)",
] as const;

/** --lock-timeout in milliseconds; 30 s when absent. */
export function lockTimeoutMs(value: unknown): number {
  if (value === undefined) return 30_000;
  return secondsFlag("--lock-timeout", value, "Pass e.g. --lock-timeout 60 or 2m, or 0 to fail at once.") * 1000;
}

/**
 * The seconds a time flag gives: a number of seconds ("90") or a duration ("90s", "2m", "1h30m",
 * "500ms"); anything else is a usage error naming the flag, with `hint` saying what to pass.
 *
 * @example
 * secondsFlag("--max-age", "2h", "Pass e.g. --max-age 90m.") // 7200
 */
export function secondsFlag(flag: string, value: unknown, hint: string): number {
  // cac gives numbers for numeric values, strings otherwise, and true for a flag without its value.
  const seconds = typeof value === "number" ? value : typeof value === "string" ? durationSeconds(value, "s") : undefined;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    throw new RestloadError(
      "E_USAGE",
      `${flag} expects seconds or a duration such as 30s, 2m or 1h30m, got ${value === true ? "no value" : `"${String(value)}"`}`,
      { hint },
    );
  }
  return seconds;
}
