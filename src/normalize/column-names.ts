// The column names of a record's fields: normalised, cached per key list, and kept apart when two
// fields (or a top-level field and a system column) normalise to one name.
import { createHash } from "node:crypto";
import { normalizeIdentifier } from "./naming.ts";

/** Where an object's keys are: the record itself, the top of a child row, or deeper (prefixed). */
export type KeyLevel = "root" | "top" | "nested";

/** One resource's field names -> column names; a field keeps its name for the resource's life. */
export class ColumnNames {
  private readonly names = new Map<string, string>();
  private readonly lastNames = new Map<string, { keys: readonly string[]; names: string[] }>();

  /** `reserved`: names a top-level field may not take (the table's system columns). */
  constructor(private readonly reserved: ReadonlySet<string>) {}

  /**
   * Normalised names of an object's keys, in order. `fresh`: this key list was not the last one
   * seen at its level, so its names were worked out now (a check of them need not run again).
   */
  of(keys: readonly string[], level: KeyLevel): { readonly names: readonly string[]; readonly fresh: boolean } {
    // Records of one API share their key lists: the names of a list seen before are reused.
    const cacheKey = (level === "root" ? "\u0002" : level === "top" ? "\u0001" : "") + keys[0];
    const cached = this.lastNames.get(cacheKey);
    if (cached && sameKeys(cached.keys, keys)) return { names: cached.names, fresh: false };
    const names = this.resolve(keys, level !== "nested");
    this.lastNames.set(cacheKey, { keys, names });
    return { names, fresh: true };
  }

  /** The name a field normalises to, once one of its records has been named. */
  nameOf(field: string): string | undefined {
    return this.names.get(field);
  }

  // internal

  private resolve(keys: readonly string[], top: boolean): string[] {
    const names = keys.map((key) => {
      let name = this.names.get(key);
      if (name === undefined) {
        name = normalizeIdentifier(key);
        // A name that lost every letter and digit (emoji, other scripts) keeps a hash of the original.
        if (!/[a-z0-9]/.test(name)) name = `_${shortHash(key)}`;
        this.names.set(key, name);
      }
      return name;
    });
    const taken = new Set<string>();
    const clash = new Set<string>();
    for (const name of names) (taken.has(name) ? clash : taken).add(name);
    const reservedHit = top && names.some((name) => this.reserved.has(name));
    if (clash.size === 0 && !reservedHit) return names;
    // Deterministic: among keys sharing a name, the one already in canonical form (then the
    // smallest) keeps it; the others, and data keys named like system columns, get a hash suffix.
    const keepers = new Map<string, string>();
    keys.forEach((key, i) => {
      const name = names[i]!;
      if (top && this.reserved.has(name)) return;
      const current = keepers.get(name);
      if (current === undefined || rank(key, name) < rank(current, name)) keepers.set(name, key);
    });
    return names.map((name, i) => (keepers.get(name) === keys[i] ? name : `${name}__${shortHash(keys[i]!)}`));
  }
}

/** Eight hex digits of SHA-256: the suffix that keeps colliding names apart. */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

// internal

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function rank(key: string, name: string): string {
  return `${key === name ? "0" : "1"}${key}`;
}
