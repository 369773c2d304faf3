// Pipeline file -> ResolvedPipeline: read, parse TOML, resolve references, check every key, apply defaults.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as v from "valibot";
import { RestloadError } from "../errors.ts";
import { plural } from "../util/plural.ts";
import { issuesToProblems } from "./issues.ts";
import { type SecretRef, resolveReferences } from "./references.ts";
import { type ResolvedPipeline, resolvePipeline } from "./resolve.ts";
import { PipelineFileSchema } from "./schema/index.ts";
import { parseToml } from "./toml.ts";

export interface LoadedPipeline {
  /** Absolute path of the pipeline file. */
  readonly file: string;
  /** Its directory: relative paths in the file resolve against it. */
  readonly dir: string;
  /** Validated, resource_defaults merged, every default applied. */
  readonly config: ResolvedPipeline;
  /** Every `{ secret = … }` in the file, in document order. */
  readonly secrets: readonly SecretRef[];
  /** The environment variables `{ env = … }` read. */
  readonly envNames: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates a pipeline file. Every problem in the file is reported at once, each with
 * its TOML path, in one E_CONFIG error; a TOML syntax error is E_TOML with line and column.
 */
export function loadPipelineFile(path: string, env: Env): LoadedPipeline {
  const file = resolve(path);
  return { file, dir: dirname(file), ...parsePipelineText(readPipelineText(file), file, env) };
}

/** Validates pipeline TOML text; `file` names it in errors. */
export function parsePipelineText(
  text: string,
  file: string,
  env: Env,
): { config: ResolvedPipeline; secrets: readonly SecretRef[]; envNames: readonly string[] } {
  if (text.replace(/#.*$/gm, "").trim() === "") {
    throw new RestloadError("E_CONFIG", `The pipeline file ${file} is empty`, {
      hint: "A pipeline needs [pipeline] name = … and at least one resource; `restload init` writes a starting point.",
      context: { file },
    });
  }
  const document = parseToml(text, { source: file, quoteSource: true });
  const references = resolveReferences(document, env);
  const result = v.safeParse(PipelineFileSchema, references.value);
  const problems = [...references.problems, ...(result.success ? [] : issuesToProblems(result.issues))];
  if (problems.length > 0 || !result.success) throw configError(file, problems);
  return { config: resolvePipeline(result.output), secrets: references.secrets, envNames: references.envNames };
}

/** The E_CONFIG error for `problems` found in `file`. */
export function configError(file: string, problems: readonly { path: string; message: string }[]): RestloadError {
  return new RestloadError("E_CONFIG", `The pipeline file ${file} has ${plural(problems.length, "problem")}`, {
    hint: "Fix each key named above; `restload check` reports them all again.",
    context: { file },
    problems,
  });
}

// internal

function readPipelineText(file: string): string {
  if (!existsSync(file)) {
    throw new RestloadError("E_CONFIG", `Cannot read the pipeline file ${file} as it does not exist`, {
      hint: "Check the path, or create one with `restload init`.",
      context: { file },
    });
  }
  if (!statSync(file).isFile()) {
    throw new RestloadError("E_CONFIG", `Cannot read the pipeline file ${file} as it is not a file`, { context: { file } });
  }
  return readFileSync(file, "utf8");
}
