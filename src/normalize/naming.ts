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
  return shorten(out, name);
}

/**
 * A name within 63 characters: longer ones keep their start and end a hash of `original`, so
 * names that differ only past the cut stay distinct.
 */
export function shorten(name: string, original = name): string {
  if (name.length <= maxIdentifierLength) return name;
  const hash = createHash("sha256").update(original).digest("hex").slice(0, 8);
  return `${name.slice(0, maxIdentifierLength - 9)}_${hash}`;
}
