// `{ secret = "NAME" }`, `{ env = "NAME" }` and `{ literal = … }` anywhere in a pipeline file.
import type { Problem } from "../errors.ts";
import { formatPath, type PathKey } from "./path.ts";
import type { TomlTable } from "./toml.ts";

/** A secret named in the pipeline; its value is looked up separately and never stored here. */
export class SecretRef {
  constructor(
    readonly name: string,
    /** Where the reference stands, e.g. `client.auth.token`. */
    readonly path: string,
  ) {}

  toJSON(): { secret: string } {
    return { secret: this.name };
  }
}

export interface ReferencesResult {
  readonly value: TomlTable;
  readonly secrets: readonly SecretRef[];
  /** The environment variables `{ env = … }` read, in document order, each once. */
  readonly envNames: readonly string[];
  readonly problems: readonly Problem[];
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Replaces every reference table: a secret by a `SecretRef`, an env reference by the variable's
 * value (a string), a literal by its content taken verbatim. A table with exactly one key
 * `secret` or `env` is always a reference.
 */
export function resolveReferences(document: TomlTable, env: Env): ReferencesResult {
  const secrets: SecretRef[] = [];
  const problems: Problem[] = [];
  const envNames = new Set<string>();

  const walk = (value: unknown, path: PathKey[]): unknown => {
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (!isTable(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const inner = value[key];
      if (key === "literal") return inner;
      if (key === "secret" || key === "env") {
        const where = formatPath(path);
        if (typeof inner !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.\-]*$/.test(inner)) {
          problems.push({
            path: `${where}.${key}`,
            message: `expected the name of ${key === "secret" ? "a secret" : "an environment variable"} (letters, digits, _ . -), found ${describe(inner)}`,
          });
          // Reported once here; an empty reference keeps the schema from reporting it again.
          return key === "secret" ? new SecretRef("", where) : "";
        }
        if (key === "secret") {
          const ref = new SecretRef(inner, where);
          secrets.push(ref);
          return ref;
        }
        envNames.add(inner);
        const found = env[inner];
        if (found === undefined) {
          problems.push({ path: where, message: `environment variable ${inner} is not set` });
          return "";
        }
        return found;
      }
    }
    const out: TomlTable = {};
    for (const key of keys) out[key] = walk(value[key], [...path, key]);
    return out;
  };

  const value = walk(document, []) as TomlTable;
  return { value, secrets, envNames: [...envNames], problems };
}

export function isTable(value: unknown): value is TomlTable {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof SecretRef);
}

/** A short description of a TOML value for messages: `"abc"`, `42`, `a table`. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof SecretRef) return "a secret reference";
  if (Array.isArray(value)) return "an array";
  if (isTable(value)) return "a table";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
