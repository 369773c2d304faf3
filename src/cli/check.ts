// `restload check <pipeline.toml>`: validate, resolve secrets (never print them), print the plan.
import type { CAC } from "cac";
import type { SecretReport } from "../config/secrets.ts";
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { configError } from "../config/load.ts";
import { interruptedExitCode, type Problem, RestloadError } from "../errors.ts";
import { outlineWindows, windowsText } from "../extract/windows.ts";
import { checkpointsText, unitCheckpoints } from "../plan/checkpoints.ts";
import type { Plan, PlannedResource } from "../plan/index.ts";
import { plural } from "../util/plural.ts";
import { errorJson, toJson } from "./_format.ts";
import type { Io } from "./_io.ts";
import { preparePipeline } from "./_pipeline.ts";
import { probe, probeText } from "./_probe.ts";

interface CheckFlags {
  json?: boolean;
  probe?: boolean;
  skipSecrets?: boolean;
  secrets?: string;
}

export function registerCheck(cli: CAC, io: Io): void {
  cli
    .command("check <pipeline>", "Validate a pipeline file and print its plan (no network or database, unless --probe)")
    .option("--json", "Print the plan (or the problems) as JSON")
    .option("--probe", "Also fetch the first page of every root resource and show what was detected")
    .option("--skip-secrets", "Do not look up secrets (for checking a file away from its server)")
    .option(
      "--secrets <path>",
      "Secrets file (default: secrets.toml, then .restload/secrets.toml, then .dlt/secrets.toml beside the pipeline)",
    )
    .example("restload check pipelines/github.toml")
    .action(async (file: string, flags: CheckFlags) => {
      try {
        return await runCheck(io, file, flags);
      } catch (error) {
        if (!(error instanceof RestloadError) || !flags.json) throw error;
        await io.stdout(toJson(errorJson(error), 2) + "\n");
        return error.exitCode;
      }
    });
}

/** The plan as `check --json` prints it: stable keys, secrets by name and source only. */
export function checkJson(planned: Plan, secrets: readonly SecretReport[]) {
  // Windows are counted up to now: the run's start, for a run started now.
  const now = Date.now();
  return {
    ok: true,
    pipeline: planned.pipeline,
    pipeline_file: planned.pipeline_file,
    database: planned.database,
    dataset: planned.dataset,
    max_concurrency: planned.max_concurrency,
    checkpoint_interval: planned.checkpoint_interval,
    client: planned.client,
    units: planned.units.map((unit) => ({ ...unit, checkpoints: unitCheckpoints(planned, unit) })),
    resources: planned.resources.map((resource) => ({
      name: resource.name,
      unit: resource.unit,
      table: resource.table,
      parent: resource.parent,
      selected: resource.selected,
      ...(resource.module ? moduleJson(resource) : requestJson(resource)),
      incremental: resource.incremental && { ...resource.incremental, windows: outlineWindows(resource.incremental, now) },
      write_disposition: resource.write_disposition,
      primary_key: resource.primary_key,
      merge_key: resource.merge_key,
      include_from_parent: resource.include_from_parent,
      columns: resource.columns,
      max_table_nesting: resource.max_table_nesting,
      schema_contract: resource.schema_contract,
      processing_steps: resource.processing_steps,
    })),
    secrets,
    warnings: planned.warnings,
  };
}

// internal

/** A module resource in `check --json`: its function instead of request templates. */
function moduleJson(resource: PlannedResource) {
  const { module, export: name } = resource.module!;
  return { module: { module, export: name } };
}

/** An endpoint resource's requests in `check --json`. */
function requestJson(resource: PlannedResource) {
  return {
    method: resource.method,
    path: resource.path,
    params: resource.params,
    json: resource.json,
    data: resource.data,
    headers: resource.headers,
    paginator: { ...resource.paginator, level: resource.paginator_level },
    data_selector: resource.data_selector ?? "auto",
    // The type (the client's auth shows its keys, secrets by name); a hook also its module and export.
    auth: resource.auth?.type === "hook" ? resource.auth : (resource.auth?.type ?? null),
    response_actions: resource.response_actions,
  };
}

async function runCheck(rawIo: Io, file: string, flags: CheckFlags): Promise<number> {
  if (flags.probe && flags.skipSecrets)
    throw new RestloadError("E_USAGE", "--probe needs the secrets: it cannot be used with --skip-secrets");
  const prepared = await preparePipeline(rawIo, file, { secretsFile: flags.secrets, skipSecrets: flags.skipSecrets });
  const { io, plan: planned, secretReport } = prepared;
  const missing = missingModules(planned, prepared.loaded.dir);
  if (missing.length > 0) throw configError(planned.pipeline_file, missing);
  const probes = flags.probe ? await probe(prepared, rawIo.signal) : undefined;
  if (rawIo.signal?.aborted) return interruptedExitCode(rawIo.signal.reason);
  const failed = probes?.some((result) => !result.ok) ?? false;
  if (flags.json)
    await io.stdout(toJson({ ...checkJson(planned, secretReport), ...(probes ? { ok: !failed, probe: probes } : {}) }, 2) + "\n");
  else await io.stdout(planText(planned, secretReport) + (probes ? probeText(probes) : ""));
  return failed ? 1 : 0;
}

/** Module hooks (processing steps, convert) whose file does not exist, as problems with their TOML path. */
function missingModules(planned: Plan, dir: string): Problem[] {
  const problems: Problem[] = [];
  const visit = (value: unknown, path: string): void => {
    if (value === null || typeof value !== "object") return;
    const record = value as Record<string, unknown>;
    if (typeof record.module === "string" && typeof record.export === "string") {
      const file = isAbsolute(record.module) ? record.module : resolve(dir, record.module);
      if (!existsSync(file))
        problems.push({
          path,
          message: `module "${record.module}" does not exist (looked for ${file}); module paths are relative to the pipeline file`,
        });
      return;
    }
    for (const [key, item] of Object.entries(record)) visit(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
  };
  for (const resource of planned.resources) {
    if (resource.module) visit(resource.module, `resources[${resource.index}].module`);
    visit(resource.processing_steps, `resources[${resource.index}].processing_steps`);
    if (resource.incremental) visit(resource.incremental.convert, `${resource.incremental.declared_at}.convert`);
    // An auth hook: the client's once, an endpoint's (or resource_defaults') per resource.
    if (resource.auth !== planned.client.auth) visit(resource.auth, `resources[${resource.index}].endpoint.auth`);
  }
  visit(planned.client.auth, "client.auth");
  return problems;
}

function planText(planned: Plan, secrets: readonly SecretReport[]): string {
  const lines = [
    `pipeline  ${planned.pipeline}  (${planned.pipeline_file})`,
    `database  ${planned.database}`,
    `dataset   ${planned.dataset}`,
    `checkpoint_interval  ${planned.checkpoint_interval === 0 ? "0 (each unit commits once, at its end)" : `${planned.checkpoint_interval} s`}`,
    "",
  ];
  const byName = new Map(planned.resources.map((resource) => [resource.name, resource]));
  for (const unit of planned.units) {
    lines.push(`load unit ${unit.name}  -> tables ${unit.tables.join(", ") || "(none)"}`);
    lines.push(`  ${checkpointsText(unitCheckpoints(planned, unit))}`);
    for (const name of unit.resources) lines.push(...resourceText(byName.get(name)!));
    lines.push("");
  }
  if (secrets.length > 0) {
    lines.push("secrets");
    for (const secret of secrets) lines.push(`  ${secret.name}: ${secret.found_in}  (used at ${secret.used_at.join(", ")})`);
    lines.push("");
  }
  lines.push(`ok: ${plural(planned.resources.length, "resource")} in ${plural(planned.units.length, "load unit")}`);
  return lines.join("\n") + "\n";
}

function resourceText(resource: PlannedResource): string[] {
  const lines = [`  ${resource.name}${resource.parent ? `  (child of ${resource.parent})` : ""}`];
  if (resource.module) {
    lines.push(`    module      ${resource.module.module}, export ${resource.module.export}`);
  } else {
    lines.push(`    request     ${resource.method} ${resource.path}`);
    lines.push(
      `    paginator   ${resource.paginator_level === "auto" ? "auto (detected at run time)" : `${resource.paginator.type} (from ${resource.paginator_level})`}`,
    );
    lines.push(`    selector    ${resource.data_selector ?? "auto"}`);
  }
  const inc = resource.incremental;
  if (inc) {
    const bounds = `${inc.initial_value === null ? "" : ` from ${String(inc.initial_value)}`}${inc.end_value === null ? "" : ` to ${String(inc.end_value)}`}`;
    lines.push(
      `    incremental ${inc.cursor_path} (${inc.last_value_func})${bounds}${inc.start_param ? ` via param ${inc.start_param}` : resource.module ? " via ctx.incremental" : ""}`,
    );
    const windows = outlineWindows(inc, Date.now());
    if (windows) {
      const params = { start: inc.start_param ?? "{incremental.start_value}", end: inc.end_param ?? "{incremental.end_value}" };
      const [what, count] = windowsText(windows, params, resource.parent !== null);
      lines.push(`    windows     ${what}`, `                ${count}`);
    }
  }
  const wd = resource.write_disposition;
  const keys =
    resource.primary_key.length > 0
      ? ` on ${resource.primary_key.join(", ")}`
      : resource.merge_key.length > 0
        ? ` on merge key ${resource.merge_key.join(", ")}`
        : "";
  lines.push(
    resource.table === null
      ? "    table       none (selected = false: extracted for its children only)"
      : `    table       ${resource.table}: ${wd.disposition}${wd.strategy ? ` (${wd.strategy})` : ""}${keys}`,
  );
  if (resource.include_from_parent.length > 0)
    lines.push(`    from parent ${resource.include_from_parent.map((field) => `${field} as _${resource.parent}_${field}`).join(", ")}`);
  return lines;
}
