// The one module that parses TOML (smol-toml): plain JS values, datetimes as RFC 3339 strings.
import { TomlDate, TomlError, parse } from "smol-toml";
import { RestloadError } from "../errors.ts";

export type TomlTable = { [key: string]: unknown };

export interface ParseTomlOptions {
  /** Name shown in errors, e.g. the file path. */
  readonly source: string;
  /**
   * Quote the offending lines in syntax errors. Off for secrets files, whose lines hold secrets:
   * their errors give only the line and column.
   */
  readonly quoteSource: boolean;
}

/**
 * Parses TOML 1.0. Integers beyond 2^53 come back as bigint (exact); offset and local datetimes,
 * dates and times come back as strings in RFC 3339 form (`2024-01-25T11:21:28Z`), which is how
 * they are sent in requests.
 */
export function parseToml(text: string, options: ParseTomlOptions): TomlTable {
  try {
    const parsed = parse(text, { integersAsBigInt: "asNeeded", unsafeKeyBehaviour: "throw", maxDepth: 100 });
    return datesToStrings(parsed) as TomlTable;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const { reason, hint } = explain(error, text);
    const quoted = options.quoteSource ? `\n${error.codeblock.trimEnd()}` : "";
    throw new RestloadError(
      "E_TOML",
      `Cannot parse ${options.source} as TOML: ${reason} at line ${error.line}, column ${error.column}${quoted}`,
      {
        hint,
        context: { file: options.source },
        cause: error,
      },
    );
  }
}

// internal

/**
 * smol-toml's reason, except where it misleads: a string left open at the end of its line is
 * reported as a control character (the newline), and one left open at the end of the file as
 * "unfinished". Both are an unterminated string, and the fix is a closing quote.
 */
function explain(error: TomlError, text: string): { reason: string; hint: string } {
  const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
  const line = text.split(/\r?\n/)[error.line - 1] ?? "";
  const hint = (quote: string) =>
    `Close the string with ${quote} on the line it starts; a string over several lines is written between ${quote.repeat(3)} and ${quote.repeat(3)}.`;
  if (reason.startsWith("control characters") && error.column === line.length + 1) {
    const open = unclosedString(line);
    if (open)
      return {
        reason: `unterminated string (the ${open.quote} at column ${open.column} is not closed before the end of the line)`,
        hint: hint(open.quote),
      };
  }
  if (reason === "unfinished string") {
    const quote = /^("""|'''|"|')/.exec(line.slice(error.column - 1))?.[1] ?? '"';
    return {
      reason: `unterminated string (no closing ${quote} before the end of the file)`,
      hint: quote.length === 3 ? `Close the string with ${quote}.` : hint(quote),
    };
  }
  return { reason, hint: "Fix the TOML syntax at that position." };
}

/** The 1-based column and quote of a one-line string `line` leaves open, if any (a comment ends the search). */
function unclosedString(line: string): { column: number; quote: string } | undefined {
  let i = 0;
  while (i < line.length) {
    const char = line[i]!;
    if (char === "#") return undefined;
    if (char !== '"' && char !== "'") {
      i++;
      continue;
    }
    // A multi-line string may stay open at the end of its line.
    const close = line.startsWith(char.repeat(3), i) ? char.repeat(3) : char;
    let j = i + close.length;
    // Only basic strings ("…") have escapes: \" does not close one.
    while (j < line.length && !line.startsWith(close, j)) j += char === '"' && line[j] === "\\" ? 2 : 1;
    if (j >= line.length) return close.length === 1 ? { column: i + 1, quote: char } : undefined;
    i = j + close.length;
  }
  return undefined;
}

function datesToStrings(value: unknown): unknown {
  if (value instanceof TomlDate) return rfc3339(value);
  if (Array.isArray(value)) return value.map(datesToStrings);
  if (value !== null && typeof value === "object") {
    const out: TomlTable = {};
    for (const [key, item] of Object.entries(value)) out[key] = datesToStrings(item);
    return out;
  }
  return value;
}

/** `2024-01-25T11:21:28Z` rather than smol-toml's `2024-01-25T11:21:28.000Z`. */
function rfc3339(date: TomlDate): string {
  return date.toISOString().replace(/\.000(?=Z|[+-]\d\d:\d\d|$)/, "");
}
