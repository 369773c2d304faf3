// JSON columns of the system tables as the page shows them, read tolerantly: a value written by an
// older restload, or edited by hand, is shown as far as it makes sense and never fails a read.
import type { SchemaChange } from "../state/runs.ts";
import type { ErrorInfo } from "./types.ts";

/** `rows_by_table`, `resources`: an object, or `{}` for NULL or anything else. */
export function jsonObject(text: unknown): Record<string, unknown> {
  const value = parse(text);
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** `error_data`: code, message, hint and context (string values only), or null. */
export function errorInfo(text: unknown): ErrorInfo | null {
  const value = jsonObject(text);
  if (typeof value.code !== "string" || typeof value.message !== "string") return null;
  const context: Record<string, string> = {};
  const raw = value.context;
  const entries = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? Object.entries(raw) : [];
  for (const [key, item] of entries) {
    if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") context[key] = String(item);
  }
  return { code: value.code, message: value.message, hint: typeof value.hint === "string" ? value.hint : null, context };
}

/**
 * `schema_changes`: an array of `SchemaChange`; NULL (older rows, older databases) or anything
 * malformed is no change. Elements without a table name or of a kind not known here are skipped.
 */
export function schemaChanges(text: unknown): SchemaChange[] {
  const value = parse(text);
  if (!Array.isArray(value)) return [];
  const out: SchemaChange[] = [];
  for (const item of value) {
    if (item === null || typeof item !== "object") continue;
    const { table, column, change, data_type } = item as Record<string, unknown>;
    if (typeof table !== "string" || !isChangeKind(change)) continue;
    out.push({
      table,
      column: typeof column === "string" ? column : null,
      change,
      data_type: typeof data_type === "string" ? data_type : null,
    });
  }
  return out;
}

// internal

// Every kind `SchemaChange` has (the type checks that none is missing or extra).
const changeKinds: Readonly<Record<SchemaChange["change"], true>> = { new_table: true, new_column: true, variant_column: true };

function isChangeKind(value: unknown): value is SchemaChange["change"] {
  return typeof value === "string" && Object.hasOwn(changeKinds, value);
}

function parse(text: unknown): unknown {
  if (typeof text !== "string") return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
