// Renders rows as an aligned text table, CSV (RFC 4180) or JSON, for commands that print data.
import { type ErrorData, type Problem, errorData } from "../errors.ts";
import { toJson } from "../util/json.ts";
import { plural } from "../util/plural.ts";

export { toJson };

/** `error[E_CODE]: message`, one `×` line per problem, and the hint (of a RestloadError or its ErrorData). */
export function formatError(error: {
  readonly code: string;
  readonly message: string;
  readonly hint?: string | null | undefined;
  readonly problems: readonly Problem[];
}): string {
  const problems = error.problems.map((problem) => `  × ${problem.path ? `${problem.path}: ` : ""}${problem.message}\n`).join("");
  return `error[${error.code}]: ${error.message}\n${problems}${error.hint ? `  hint: ${error.hint}\n` : ""}`;
}

/** Under systemd (JOURNAL_STREAM set) every line of an error gets journald's error priority, `<3>`. */
export function journalError(env: Readonly<Record<string, string | undefined>>, text: string): string {
  if (env.JOURNAL_STREAM === undefined) return text;
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => `<3>${line}\n`)
    .join("");
}

/** An error as `--json` output prints it: `{ "ok": false, "error": { code, message, hint, context, problems, exit_code } }`. */
export function errorJson(error: unknown, redact?: (text: string) => string): { readonly ok: false; readonly error: ErrorData } {
  return { ok: false, error: errorData(error, redact) };
}

/** Rows as an array of objects keyed by column name. */
export function rowsToJson(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const objects = rows.map((row) => Object.fromEntries(columns.map((column, index) => [column, row[index] ?? null])));
  return toJson(objects, 2);
}

/** CSV with a header line; NULL is an empty field, fields are quoted only when needed. */
export function rowsToCsv(columns: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  const field = (value: string | null) => (value === null ? "" : /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return [columns, ...rows].map((row) => row.map(field).join(",") + "\n").join("");
}

/**
 * An aligned table for a terminal; numbers right-aligned, NULL spelled out, control characters
 * escaped so one row stays one line.
 *
 * @example
 * rowsToTable(["id", "name"], ["BIGINT", "VARCHAR"], [["1", "a"]])
 * //  id │ name
 * // ────┼──────
 * //   1 │ a
 * // (1 row)
 */
export function rowsToTable(columns: readonly string[], types: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  if (columns.length === 0) return "";
  const cells = rows.map((row) => row.map((value) => (value === null ? "NULL" : escapeControl(value))));
  const header = columns.map(escapeControl);
  const widths = header.map((name, index) => Math.max(width(name), ...cells.map((row) => width(row[index] ?? ""))));
  const numeric = types.map((type) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL)/.test(type));
  const line = (row: readonly string[], alignNumbers: boolean) =>
    row
      .map((value, index) => {
        const pad = " ".repeat((widths[index] ?? 0) - width(value));
        return alignNumbers && numeric[index] ? pad + value : value + pad;
      })
      .map((value) => ` ${value} `)
      .join("│")
      .trimEnd();
  const rule = widths.map((w) => "─".repeat(w + 2)).join("┼");
  const count = `(${plural(rows.length, "row")})`;
  return [line(header, false), rule, ...cells.map((row) => line(row, true)), count].join("\n") + "\n";
}

// internal

function escapeControl(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, (char) =>
    char === "\n" ? "\\n" : char === "\t" ? "\\t" : char === "\r" ? "\\r" : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function width(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}
