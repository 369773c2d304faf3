// The JSON text of a value with every object's keys sorted: equal content, equal text, so a hash of
// it names the content. Stored hashes are made from this exact text (incremental boundary keys in
// `_rl_state`, scd2 row ids in `_rl_id`): a change to it changes theirs.
import { toJson } from "./json.ts";

/**
 * `toJson` of `value` with each object's keys in sorted order, at every depth; bigints as digits.
 *
 * @example
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }) // '{"a":[{"c":3,"d":2}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return toJson(sortedKeys(value));
}

// internal

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  // Object.fromEntries defines each key as an own property, `__proto__` included (an assignment
  // would set the prototype and leave the field out). It also lists integer-like keys first, in
  // numeric order ("9" before "10"), whatever the sort says: the hashes already stored were made
  // with that order, so it stays.
  return Object.fromEntries(
    Object.keys(object)
      .sort()
      .map((key) => [key, sortedKeys(object[key])]),
  );
}
