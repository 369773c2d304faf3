// Looks up `{ secret = "NAME" }` values: environment, $CREDENTIALS_DIRECTORY, then the secrets file.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RestloadError, type Problem } from "../errors.ts";
import { formatPath } from "./path.ts";
import { type SecretRef, isTable } from "./references.ts";
import { type TomlTable, parseToml } from "./toml.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface SecretLookup {
  readonly pipelineDir: string;
  readonly pipelineName: string;
  /** `pipeline.secrets_section`: the only section of the secrets file searched when set. */
  readonly secretsSection: string | null;
  /** `--secrets PATH`. */
  readonly secretsFile?: string | undefined;
  readonly env: Env;
}

/** Where one secret was found; never its value. */
export interface SecretReport {
  readonly name: string;
  /** TOML paths of the references. */
  readonly used_at: readonly string[];
  /** e.g. `environment variable RESTLOAD_SECRET_GITHUB_TOKEN`, `/etc/x/secrets.toml [sources.rest_api.github]`. */
  readonly found_in: string;
}

export interface ResolvedSecrets {
  /** Secret values by name; hand them only to the code that sends them. */
  readonly values: ReadonlyMap<string, string>;
  readonly report: readonly SecretReport[];
  readonly warnings: readonly string[];
}

/** `github_token` -> `RESTLOAD_SECRET_GITHUB_TOKEN`. */
export function secretEnvName(name: string): string {
  return `RESTLOAD_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/**
 * Finds every referenced secret, first hit wins: `RESTLOAD_SECRET_<NAME>`, then
 * `$CREDENTIALS_DIRECTORY/<name>`, then the secrets file. All missing secrets are reported in one
 * E_SECRET error saying where each was looked for.
 */
export function resolveSecrets(refs: readonly SecretRef[], lookup: SecretLookup): ResolvedSecrets {
  const usedAt = new Map<string, string[]>();
  for (const ref of refs) usedAt.set(ref.name, [...(usedAt.get(ref.name) ?? []), ref.path]);

  const values = new Map<string, string>();
  const report: SecretReport[] = [];
  const warnings: string[] = [];
  const problems: Problem[] = [];
  const file = new SecretsFile(lookup, warnings);

  for (const [name, paths] of usedAt) {
    const envName = secretEnvName(name);
    const fromEnv = lookup.env[envName];
    if (fromEnv !== undefined && fromEnv !== "") {
      values.set(name, fromEnv);
      report.push({ name, used_at: paths, found_in: `environment variable ${envName}` });
      continue;
    }
    const credentials = lookup.env.CREDENTIALS_DIRECTORY;
    const credentialFile = credentials ? join(credentials, name) : undefined;
    const credential = credentialFile && existsSync(credentialFile) ? readFileSync(credentialFile, "utf8").replace(/\r?\n$/, "") : "";
    if (credential !== "") {
      values.set(name, credential);
      report.push({ name, used_at: paths, found_in: `credential file ${credentialFile}` });
      continue;
    }
    const found = file.find(name);
    if (found && found.value !== "") {
      values.set(name, found.value);
      report.push({ name, used_at: paths, found_in: found.where });
      continue;
    }
    const looked = [
      `environment variable ${envName} (not set)`,
      credentials ? `${credentialFile} (${existsSync(credentialFile!) ? "empty" : "no such file"})` : "$CREDENTIALS_DIRECTORY (not set)",
      file.describeSearch(name),
    ];
    problems.push({ path: paths[0]!, message: `secret "${name}" is not set; looked in: ${looked.join("; ")}` });
  }
  if (problems.length > 0) {
    throw new RestloadError("E_SECRET", `${problems.length === 1 ? "A secret is" : `${problems.length} secrets are`} missing`, {
      hint: `Set each one, e.g. export ${secretEnvName(usedAt.keys().next().value ?? "name")}=…, or add it to the secrets file.`,
      problems,
    });
  }
  return { values, report, warnings };
}

// internal

/** The one secrets file in use, read on first need (a broken file that is not needed is no error). */
class SecretsFile {
  private path: string | undefined;
  private candidates: string[];
  private document: TomlTable | undefined;

  constructor(
    private readonly lookup: SecretLookup,
    private readonly warnings: string[],
  ) {
    // restload's own files, then dlt's, so a dlt project's secrets work unchanged. The first that
    // exists is the secrets file; the others are not read.
    this.candidates = lookup.secretsFile
      ? [resolve(lookup.secretsFile)]
      : [
          join(lookup.pipelineDir, "secrets.toml"),
          join(lookup.pipelineDir, ".restload", "secrets.toml"),
          join(lookup.pipelineDir, ".dlt", "secrets.toml"),
        ];
    if (lookup.secretsFile && !existsSync(this.candidates[0]!)) {
      throw new RestloadError("E_SECRET", `Cannot read the secrets file ${this.candidates[0]} given by --secrets as it does not exist`, {
        hint: "Check the path.",
        context: { file: this.candidates[0]! },
      });
    }
    this.path = this.candidates.find((candidate) => existsSync(candidate));
  }

  find(name: string): { value: string; where: string } | undefined {
    const document = this.load();
    if (!document || !this.path) return undefined;
    const section = this.lookup.secretsSection;
    if (section !== null) {
      const table = tableAt(document, section.split("."));
      return table && name in table ? { value: this.value(table[name], name, section), where: `${this.path} [${section}]` } : undefined;
    }
    const own = tableAt(document, [this.lookup.pipelineName]);
    if (own && name in own)
      return { value: this.value(own[name], name, this.lookup.pipelineName), where: `${this.path} [${this.lookup.pipelineName}]` };
    if (name in document && !isTable(document[name]))
      return { value: this.value(document[name], name, ""), where: `${this.path} (top level)` };
    const matches = sourcesTablesWith(document, name);
    if (matches.length > 1) {
      throw new RestloadError(
        "E_SECRET",
        `The secret "${name}" is in ${matches.length} tables of ${this.path}: ${matches.map((m) => `[${m.path}]`).join(", ")}`,
        {
          hint: `Keep it in one table, or pin one with pipeline.secrets_section = "${matches[0]!.path}".`,
          context: { file: this.path },
        },
      );
    }
    const [match] = matches;
    return match ? { value: this.value(match.table[name], name, match.path), where: `${this.path} [${match.path}]` } : undefined;
  }

  describeSearch(name: string): string {
    if (!this.path) return `${this.candidates.join(" or ")} (no such file)`;
    const section = this.lookup.secretsSection;
    const searched =
      section !== null
        ? `${this.path} [${section}] (no key ${name})`
        : `${this.path} ([${this.lookup.pipelineName}], top level, [sources.*]: no key ${name})`;
    const skipped = this.candidates.slice(this.candidates.indexOf(this.path) + 1).filter((candidate) => existsSync(candidate));
    return skipped.length === 0 ? searched : `${searched}; ${skipped.join(", ")} not read as ${this.path} is the secrets file`;
  }

  private load(): TomlTable | undefined {
    if (this.document || !this.path) return this.document;
    const mode = statSync(this.path).mode;
    if ((mode & 0o077) !== 0) {
      this.warnings.push(
        `the secrets file ${this.path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${this.path}`,
      );
    }
    // Lines of a secrets file hold secrets: syntax errors name the line and column only.
    this.document = parseToml(readFileSync(this.path, "utf8"), { source: this.path, quoteSource: false });
    return this.document;
  }

  private value(value: unknown, name: string, section: string): string {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
    throw new RestloadError(
      "E_SECRET",
      `The secret "${name}" in ${this.path}${section ? ` [${section}]` : ""} is a table or an array, not a value`,
      {
        hint: "Give it a string value.",
        context: { file: this.path! },
      },
    );
  }
}

function tableAt(document: TomlTable, keys: readonly string[]): TomlTable | undefined {
  let current: unknown = document;
  for (const key of keys) {
    if (!isTable(current)) return undefined;
    current = current[key];
  }
  return isTable(current) ? current : undefined;
}

/** Tables under `[sources]`, at any depth, that hold `name` as a value (dlt's layout). */
function sourcesTablesWith(document: TomlTable, name: string): { path: string; table: TomlTable }[] {
  const out: { path: string; table: TomlTable }[] = [];
  const walk = (table: TomlTable, keys: string[]) => {
    if (name in table && !isTable(table[name])) out.push({ path: formatPath(keys), table });
    for (const [key, value] of Object.entries(table)) if (isTable(value)) walk(value, [...keys, key]);
  };
  const sources = document.sources;
  if (isTable(sources)) walk(sources, ["sources"]);
  return out;
}
