// What an export does with a table, from its rows' counts and hash sums per load id.
import { describe, expect, test } from "bun:test";
import { compactAfterFiles, decideChange, type LoadGroups } from "../../src/export/change.ts";
import type { Generation, GenerationFile } from "../../src/export/generations.ts";

const columns = [
  { name: "id", type: "BIGINT" },
  { name: "_rl_load_id", type: "VARCHAR" },
];

const file = (name: string, groups: Record<string, [number, string]>): GenerationFile => ({
  name,
  rows: Object.values(groups).reduce((sum, [rows]) => sum + rows, 0),
  load_ids: Object.keys(groups),
  hash: Object.values(groups)
    .reduce((sum, [, hash]) => sum + BigInt(hash), 0n)
    .toString(),
  bytes: 100,
});

const generation = (files: GenerationFile[]): Generation => ({
  version: 1,
  table: "items",
  generation: 1,
  columns,
  files,
  next_part: files.length + 1,
  published_at: "2026-12-04T00:00:00.000Z",
});

const groups = (entries: Record<string, [number, string]>): LoadGroups =>
  new Map(Object.entries(entries).map(([id, [rows, hash]]) => [id, { rows, hash }]));

describe("decideChange", () => {
  const exported = generation([file("part-000001.parquet", { a: [2, "100"], b: [3, "18446744073709551615"] })]);

  test("the same rows: unchanged; rows of a new load id only: an append of that id", () => {
    expect(decideChange(exported, columns, groups({ a: [2, "100"], b: [3, "18446744073709551615"] }))).toEqual({ kind: "unchanged" });
    expect(decideChange(exported, columns, groups({ a: [2, "100"], b: [3, "18446744073709551615"], c: [1, "7"] }))).toEqual({
      kind: "append",
      loadIds: ["c"],
    });
  });

  test("a row changed, deleted or moved to a new load id, or a column changed: a rewrite", () => {
    expect(decideChange(exported, columns, groups({ a: [2, "101"], b: [3, "18446744073709551615"] }))).toMatchObject({ kind: "rewrite" });
    expect(decideChange(exported, columns, groups({ a: [2, "100"], b: [2, "5"] }))).toMatchObject({ kind: "rewrite" });
    // A merge re-stamps a row with the new load id: b loses it, c gains it.
    expect(decideChange(exported, columns, groups({ a: [2, "100"], b: [2, "9"], c: [1, "3"] }))).toMatchObject({ kind: "rewrite" });
    expect(
      decideChange(exported, [...columns, { name: "extra", type: "VARCHAR" }], groups({ a: [2, "100"], b: [3, "18446744073709551615"] })),
    ).toEqual({
      kind: "rewrite",
      reason: "columns changed",
    });
    expect(decideChange(exported, [{ name: "id", type: "VARCHAR" }, columns[1]!], groups({ a: [2, "100"] }))).toMatchObject({
      kind: "rewrite",
    });
    expect(decideChange(null, columns, groups({}))).toEqual({ kind: "rewrite", reason: "first export" });
  });

  test(`an append table with ${compactAfterFiles} files is compacted into one set at its next append`, () => {
    const many = Array.from({ length: compactAfterFiles }, (_, index) =>
      file(`part-${index}.parquet`, { [`l${index}`]: [1, String(index)] }),
    );
    const current = Object.fromEntries(many.map((_, index) => [`l${index}`, [1, String(index)] as [number, string]]));
    expect(decideChange(generation(many), columns, groups(current))).toEqual({ kind: "unchanged" });
    expect(decideChange(generation(many.slice(1)), columns, groups(current))).toMatchObject({ kind: "append" });
    expect(decideChange(generation(many), columns, groups({ ...current, new: [1, "1"] }))).toEqual({
      kind: "rewrite",
      reason: `${compactAfterFiles} files already`,
    });
  });

  test("an empty table exported before stays unchanged while empty", () => {
    expect(decideChange(generation([file("part-000001.parquet", {})]), columns, groups({}))).toEqual({ kind: "unchanged" });
  });
});
