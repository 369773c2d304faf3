// Checks of an incremental `window` against its cursor: the size its type needs, where each
// window's bounds go in the request, and the settings windows cannot honour.
import { type IncrementalConfig, windowSeconds } from "../config/schema/incremental.ts";
import type { Problem } from "../errors.ts";
import { isDate, timestampMicros } from "../normalize/types.ts";
import type { Placeholder } from "./template.ts";

/**
 * Problems of `config.window` (declared at `at`), none when it is unset. `placeholders` are the
 * resource's request placeholders: `{incremental.start_value}` and `{incremental.end_value}` may
 * carry a window's bounds instead of start_param and end_param (a POST body, a path).
 */
export function windowProblems(config: IncrementalConfig, at: string, placeholders: readonly Placeholder[]): Problem[] {
  if (config.window === null) return [];
  const problems: Problem[] = [];
  const here = `${at}.window`;
  const written = JSON.stringify(typeof config.window === "bigint" ? String(config.window) : config.window);
  const uses = (name: string) => placeholders.some((placeholder) => placeholder.kind === "incremental" && placeholder.name === name);
  if (config.end_param === null && !uses("end_value")) {
    problems.push({
      path: here,
      message: `window needs end_param: each window is requested as [start, end), its end sent as end_param (or as {incremental.end_value} in the request); found no end_param`,
    });
  }
  if (config.start_param === null && !uses("start_value")) {
    problems.push({
      path: here,
      message: `window needs start_param: each window is requested as [start, end), its start sent as start_param (or as {incremental.start_value} in the request); found no start_param`,
    });
  }
  if (config.last_value_func === "min") {
    problems.push({
      path: `${at}.last_value_func`,
      message: `window walks the range forward, from the stored cursor to the end; expected last_value_func = "max" with window, found "min"`,
    });
  }
  // Consecutive windows meet at their bounds: start-closed, end-open, or a record at a bound is lost or loaded twice.
  if (config.range_start === "open")
    problems.push({
      path: `${at}.range_start`,
      message: 'windows are [start, end): expected range_start = "closed" with window, found "open"',
    });
  if (config.range_end === "closed")
    problems.push({
      path: `${at}.range_end`,
      message: 'windows are [start, end): expected range_end = "open" with window, found "closed"',
    });

  const duration = typeof config.window === "string";
  const seconds = windowSeconds(config.window);
  if (config.initial_value === null) {
    problems.push({
      path: here,
      message: "window needs initial_value: the first run's windows start there; found no initial_value",
    });
    return problems;
  }
  const type = kindOf(config.initial_value);
  const initial = JSON.stringify(String(config.initial_value));
  if (type === "timestamp" || type === "date") {
    if (!duration) {
      problems.push({
        path: here,
        message: `initial_value ${initial} is a ${type}, so window is a duration: expected a duration such as "1d" or "7d", found ${written}`,
      });
    } else if (type === "date" && seconds !== undefined && seconds % 86_400 !== 0) {
      problems.push({
        path: here,
        message: `initial_value ${initial} is a date, so window is whole days: expected "1d", "7d" or "1w", found ${written}`,
      });
    }
  } else if (type === "number") {
    if (duration) {
      problems.push({
        path: here,
        message: `initial_value ${initial} is a number, so window is a number: expected a number above 0 such as 1000, found ${written}`,
      });
    }
    if (config.end_value === null) {
      problems.push({
        path: here,
        message: "a numeric window needs end_value: numbers have no run start to end at; found no end_value",
      });
    }
  } else {
    problems.push({
      path: here,
      message: `window slices timestamps, dates and numbers; initial_value ${initial} is none of them (expected e.g. "2024-01-01T00:00:00Z", "2024-01-01" or 0)`,
    });
    return problems;
  }
  const endType = config.end_value === null ? undefined : kindOf(config.end_value);
  const instants = (t: unknown) => t === "timestamp" || t === "date";
  if (endType !== undefined && !(instants(type) ? instants(endType) : endType === "number")) {
    problems.push({
      path: `${at}.end_value`,
      message: `end_value ends the windows of a ${instants(type) ? "timestamp or date" : "numeric"} cursor: expected a value of initial_value's type, found ${JSON.stringify(String(config.end_value))}`,
    });
  }
  return problems;
}

// internal

/** A cursor value's kind, by the rules of the cursor's own type detection (extract/cursor-values.ts). */
function kindOf(value: unknown): "timestamp" | "date" | "number" | "other" {
  if (typeof value === "number" || typeof value === "bigint") return "number";
  if (typeof value !== "string") return "other";
  if (timestampMicros(value) !== undefined) return "timestamp";
  return isDate(value) ? "date" : "other";
}
