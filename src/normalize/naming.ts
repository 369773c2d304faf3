// Table and column names: snake_case identifiers that DuckDB takes unquoted-safe and stable.
import { createHash } from "node:crypto";

/** Longest identifier kept whole; longer ones are cut and suffixed with a hash of the original. */
export const maxIdentifierLength = 63;

/**
 * `issueComments` -> `issue_comments`, `user-name` -> `user_name`, `2fa` -> `_2fa`; names past
 * 63 characters keep their start and end with a hash of the whole name, so they stay distinct.
 *
 * @example
 * normalizeIdentifier("HTTPStatusCode") // "http_status_code"
 */
export function normalizeIdentifier(name: string): string {
  let out = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_");
  if (out === "") out = "_";
  if (/^[0-9]/.test(out)) out = `_${out}`;
  if (out.length > maxIdentifierLength) {
    const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
    out = `${out.slice(0, maxIdentifierLength - 9)}_${hash}`;
  }
  return out;
}
