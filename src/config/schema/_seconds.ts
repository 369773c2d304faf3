// Settings that take a time: a number of seconds or a duration ("30s", "2m", "1h30m", "500ms"), resolved to seconds.
import * as v from "valibot";
import { durationSeconds } from "../../util/duration.ts";
import { describe } from "../references.ts";

const expected = 'expected seconds (a number) or a duration such as "30s", "2m", "1h30m" or "500ms"';

/**
 * A time in seconds, written as a number (seconds, as ever) or as a duration; the output is always
 * the number of seconds, so later stages never meet the text. `min` is "above 0" where 0 makes no
 * sense (a request timeout) and "at least 0" where 0 means "no wait".
 *
 * @example
 * v.parse(seconds("above 0"), "1h30m") // 5400
 * v.parse(seconds("above 0"), 2.5) // 2.5
 */
export function seconds(min: "above 0" | "at least 0") {
  return v.pipe(
    v.union([v.number(), v.string()], (issue) => `${expected}, found ${describe(issue.input)}`),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = dataset.value;
      const result = typeof value === "number" ? value : durationSeconds(value, "s");
      if (result === undefined || !Number.isFinite(result)) {
        addIssue({ message: `${expected}, found ${describe(value)}` });
        return NEVER;
      }
      if (min === "above 0" ? result <= 0 : result < 0) {
        addIssue({ message: `expected a time ${min === "above 0" ? "above 0" : "of at least 0"} seconds, found ${describe(value)}` });
        return NEVER;
      }
      return result;
    }),
  );
}
