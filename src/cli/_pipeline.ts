// What every pipeline command does first: load and plan the file, resolve its secrets.
import { type LoadedPipeline, loadPipelineFile } from "../config/load.ts";
import { Redactor } from "../config/redact.ts";
import { type SecretReport, resolveSecrets } from "../config/secrets.ts";
import { RestloadError } from "../errors.ts";
import { type Plan, type PlannedResource, plan } from "../plan/index.ts";
import { closest } from "../util/closest.ts";
import { type Io, redactingIo } from "./_io.ts";

export interface PreparedPipeline {
  readonly loaded: LoadedPipeline;
  readonly plan: Plan;
  readonly secrets: ReadonlyMap<string, string>;
  readonly secretReport: readonly SecretReport[];
  readonly redactor: Redactor;
  /** The command's Io with every secret masked. */
  readonly io: Io;
}

export interface PrepareOptions {
  readonly secretsFile?: string | undefined;
  readonly skipSecrets?: boolean | undefined;
  readonly database?: string | undefined;
}

/** Loads, plans and resolves secrets; prints warnings (plan and secrets file) on stderr. */
export async function preparePipeline(io: Io, file: string, options: PrepareOptions = {}): Promise<PreparedPipeline> {
  const loaded = loadPipelineFile(file, io.env);
  const planned = plan(loaded, { env: io.env, ...(options.database ? { database: options.database } : {}) });
  const redactor = new Redactor();
  // A password written into base_url (https://user:password@host/) is a secret too.
  if (typeof planned.client.base_url === "string") redactor.addUrlPassword(planned.client.base_url);
  let secrets: ReadonlyMap<string, string> = new Map();
  let secretReport: readonly SecretReport[];
  const warnings = [...planned.warnings];
  if (options.skipSecrets) {
    secretReport = [...new Set(loaded.secrets.map((ref) => ref.name))].map((name) => ({
      name,
      used_at: loaded.secrets.filter((ref) => ref.name === name).map((ref) => ref.path),
      found_in: "not looked up (--skip-secrets)",
    }));
  } else {
    const resolved = resolveSecrets(loaded.secrets, {
      pipelineDir: loaded.dir,
      pipelineName: planned.pipeline,
      secretsSection: planned.secrets_section,
      secretsFile: options.secretsFile,
      env: io.env,
    });
    for (const value of resolved.values.values()) redactor.add(value);
    secrets = resolved.values;
    secretReport = resolved.report;
    warnings.push(...resolved.warnings);
  }
  const safeIo = redactingIo(io, redactor);
  for (const warning of warnings) await safeIo.stderr(`warning: ${warning}\n`);
  return { loaded, plan: planned, secrets, secretReport, redactor, io: safeIo };
}

/**
 * The resources named by `--select a,b` (all root resources when absent). An unknown name is a
 * configuration error (exit 78) with the closest name.
 */
export function selectRoots(planned: Plan, select: unknown): PlannedResource[] {
  const roots = planned.resources.filter((resource) => resource.parent === null);
  if (select === undefined || select === true) return roots;
  const names = String(select)
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const problems = names.flatMap((name) => {
    const resource = planned.resources.find((candidate) => candidate.name === name);
    if (!resource) {
      const suggestion = closest(
        name,
        planned.resources.map((candidate) => candidate.name),
      );
      return [
        {
          path: "--select",
          message: `unknown resource "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; resources are: ${planned.resources.map((r) => r.name).join(", ")}`,
        },
      ];
    }
    if (resource.parent !== null)
      return [
        { path: "--select", message: `resource "${name}" is a child of "${resource.parent}"; select the root resource "${resource.unit}"` },
      ];
    return [];
  });
  if (problems.length > 0) throw new RestloadError("E_CONFIG", "--select names resources that cannot be selected", { problems });
  return roots.filter((resource) => names.includes(resource.name));
}
