// The key set of merge loads: a key seen twice is never missed; distinct keys are not confused.
import { describe, expect, test } from "bun:test";
import { KeySet } from "../../src/normalize/key-set.ts";

describe("KeySet", () => {
  test("an integer key is new once, then seen; 0 and -0 are the same key", () => {
    const keys = new KeySet();
    expect(keys.seen(42)).toBe(false);
    expect(keys.seen(42)).toBe(true);
    expect(keys.seen(0)).toBe(false);
    expect(keys.seen(-0)).toBe(true);
    expect(keys.seen(-7)).toBe(false);
    expect(keys.seen(Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(keys.seen(Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  test("300,000 distinct integer keys (ids spread and sequential) are all new, and all seen the second time", () => {
    const keys = new KeySet();
    const ids = Array.from({ length: 150_000 }, (_, i) => [1_000_000 + i, i * 7_919_000_003]).flat();
    expect(ids.filter((id) => keys.seen(id))).toEqual([]);
    expect(ids.every((id) => keys.seen(id))).toBe(true);
  });

  test("text, big-integer and composite keys: seen again when repeated, never confused with each other or with numbers", () => {
    const keys = new KeySet();
    const distinct = ["1", "01", "a", "", "node-1", 1, 2n ** 70n, `${2n ** 70n}`, JSON.stringify([1, "x"]), JSON.stringify(["1", "x"])];
    expect(distinct.map((key) => keys.seen(key))).toEqual(distinct.map(() => false));
    expect(distinct.map((key) => keys.seen(key))).toEqual(distinct.map(() => true));
    expect(keys.seen(2n ** 70n)).toBe(true);
  });

  test("200,000 distinct text keys: none reported as seen", () => {
    const keys = new KeySet();
    let falseRepeats = 0;
    for (let i = 0; i < 200_000; i++) if (keys.seen(`MDU6SXNzdWUx${i.toString(36)}`)) falseRepeats++;
    expect(falseRepeats).toBe(0);
    expect(keys.seen("MDU6SXNzdWUx0")).toBe(true);
  });
});
