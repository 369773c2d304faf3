// The one duration parser of settings and flags.
import { describe, expect, test } from "bun:test";
import { durationSeconds, durationUnits } from "../../src/util/duration.ts";

describe("durationSeconds", () => {
  test("reads each unit", () => {
    expect(["500ms", "30s", "2m", "2h", "1d", "1w"].map((text) => durationSeconds(text))).toEqual([0.5, 30, 120, 7200, 86_400, 604_800]);
  });

  test("adds the parts of a compound duration, largest unit first, spaces allowed", () => {
    expect(durationSeconds("1h30m")).toBe(5400);
    expect(durationSeconds("1h 30m")).toBe(5400);
    expect(durationSeconds("2h5m10s250ms")).toBe(7510.25);
    expect(durationSeconds("1.5h")).toBe(5400);
  });

  test("refuses parts out of order or repeated, and text that is no duration", () => {
    for (const text of ["30m1h", "1m1m", "7 days", "", "ms", "abc", "-5s", "1h30"]) expect(durationSeconds(text)).toBeUndefined();
  });

  test("a bare number is a duration only with a bare unit", () => {
    expect(durationSeconds("90")).toBeUndefined();
    expect(durationSeconds("90", "s")).toBe(90);
    expect(durationSeconds("2", "m")).toBe(120);
  });

  test("names its units smallest first", () => {
    expect(durationUnits).toEqual(["ms", "s", "m", "h", "d", "w"]);
  });
});
