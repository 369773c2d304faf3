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
    const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    const quoted = options.quoteSource ? `\n${error.codeblock.trimEnd()}` : "";
    throw new RestloadError(
      "E_TOML",
      `Cannot parse ${options.source} as TOML: ${reason} at line ${error.line}, column ${error.column}${quoted}`,
      {
        hint: "Fix the TOML syntax at that position.",
        context: { file: options.source },
        cause: error,
      },
    );
  }
}

// internal

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
