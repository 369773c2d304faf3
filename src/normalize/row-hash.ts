// The content hash of a record: the `_rl_id` of an scd2 table's root row, so equal records are one version.
import { createHash } from "node:crypto";
import { toJson } from "../util/json.ts";

/**
 * A hash of everything a record holds, nested lists and objects included (a change in a child list
 * is a new version, as dlt's row hash): its JSON with every object's keys sorted, SHA-256, the
 * first 120 bits in base64url (20 characters, no `.`, which child row ids use as separator).
 *
 * @example
 * rowHash({ b: 1, a: [2] }) === rowHash({ a: [2], b: 1 }) // true
 */
export function rowHash(record: unknown): string {
  return createHash("sha256")
    .update(toJson(sortedKeys(record)))
    .digest("base64url")
    .slice(0, 20);
}

// internal

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value !== null && typeof value === "object") {
    const object = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(object).sort()) sorted[key] = sortedKeys(object[key]);
    return sorted;
  }
  return value;
}
