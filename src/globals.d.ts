// Declarations for standard APIs that Bun and Deno ship but TypeScript's lib files do not list yet.

interface RawJSON {
  readonly rawJSON: string;
}

interface JSON {
  /** Marks `text` as JSON to emit verbatim from `JSON.stringify` (exact big integers). */
  rawJSON(text: string): RawJSON;
  isRawJSON(value: unknown): value is RawJSON;
}
