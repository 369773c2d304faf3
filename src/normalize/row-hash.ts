// The content hash of a record: the `_rl_id` of an scd2 table's root row, so equal records are one version.
import { createHash } from "node:crypto";
import { canonicalJson } from "../util/canonical-json.ts";

/**
 * A hash of everything a record holds, nested lists and objects included (a change in a child list
 * is a new version, as dlt's row hash): its canonical JSON (every object's keys sorted, a field
 * named `__proto__` too), SHA-256, the first 120 bits in base64url (20 characters, no `.`, which
 * child row ids use as separator).
 *
 * @example
 * rowHash({ b: 1, a: [2] }) === rowHash({ a: [2], b: 1 }) // true
 */
export function rowHash(record: unknown): string {
  return createHash("sha256").update(canonicalJson(record)).digest("base64url").slice(0, 20);
}
