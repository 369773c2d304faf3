// Counts in user-facing text agree with their noun.
import { describe, expect, test } from "bun:test";
import { plural } from "../../src/util/plural.ts";

describe("plural", () => {
  test("one is singular; zero and many are plural", () => {
    expect([0, 1, 2].map((count) => plural(count, "record"))).toEqual(["0 records", "1 record", "2 records"]);
  });

  test("regular English plurals: retry -> retries, match -> matches; a bigint counts too", () => {
    expect(plural(3, "retry")).toBe("3 retries");
    expect(plural(1, "retry")).toBe("1 retry");
    expect(plural(2, "match")).toBe("2 matches");
    expect(plural(2, "day")).toBe("2 days");
    expect(plural(1n, "row")).toBe("1 row");
  });

  test("an irregular plural is given", () => {
    expect(plural(2, "child", "children")).toBe("2 children");
  });
});
