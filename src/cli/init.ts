// `restload init [github|pokeapi|generic|export-job] [DIR]`: scaffold pipeline.toml and secrets.toml
// (and, for a template with code, its module).
import type { CAC } from "cac";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { RestloadError, messageOf } from "../errors.ts";
import { closest } from "../util/closest.ts";
import type { Io } from "./_io.ts";
import { type TemplateName, templates } from "./_templates.ts";

export function registerInit(cli: CAC, io: Io): void {
  cli
    .command(
      "init [template] [dir]",
      "Write pipeline.toml and secrets.toml (mode 600) from a template: github, pokeapi, generic, or export-job (OAuth2 refresh token and a module resource, with export.ts)",
    )
    .example("restload init github ./github")
    .action((template: string | undefined, dir: string | undefined) => runInit(io, template, dir));
}

async function runInit(io: Io, templateArg: string | undefined, dirArg: string | undefined): Promise<number> {
  let name: string = templateArg ?? "generic";
  let dir = dirArg ?? ".";
  // `restload init ./somewhere` means the generic template in that directory.
  if (
    templateArg !== undefined &&
    dirArg === undefined &&
    !(templateArg in templates) &&
    (templateArg.includes("/") || existsSync(templateArg))
  ) {
    name = "generic";
    dir = templateArg;
  }
  if (!(name in templates)) {
    const suggestion = closest(name, Object.keys(templates));
    throw new RestloadError("E_USAGE", `Unknown template "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`, {
      hint: `Templates: ${Object.keys(templates).join(", ")}.`,
    });
  }
  const template = templates[name as TemplateName];
  const target = resolve(dir);
  const pipelineFile = join(target, "pipeline.toml");
  const secretsFile = join(target, "secrets.toml");
  const moduleFile = template.module ? join(target, template.module.file) : undefined;
  const existing = [pipelineFile, secretsFile, ...(moduleFile ? [moduleFile] : [])].filter((file) => existsSync(file));
  if (existing.length > 0) {
    throw new RestloadError(
      "E_EXISTS",
      `Cannot write the template as ${existing.join(" and ")} already exist${existing.length === 1 ? "s" : ""}`,
      {
        hint: "restload init never overwrites: choose another directory or move the files away.",
        context: { file: existing[0]! },
      },
    );
  }
  try {
    mkdirSync(target, { recursive: true });
    const written: string[] = [];
    try {
      writeNew(pipelineFile, template.pipeline, 0o644);
      written.push(pipelineFile);
      writeNew(secretsFile, template.secrets, 0o600);
      written.push(secretsFile);
      if (moduleFile && template.module) writeNew(moduleFile, template.module.text, 0o644);
    } catch (error) {
      // Half a template would make the next attempt fail with E_EXISTS: take the written files back.
      for (const file of written) rmSync(file, { force: true });
      throw error;
    }
  } catch (error) {
    throw cannotWriteError(error, target);
  }
  const fromHere = relative(process.cwd(), pipelineFile);
  const shown = fromHere && !fromHere.startsWith("..") ? fromHere : pipelineFile;
  await io.stdout(
    [
      `wrote ${pipelineFile} (template ${name})`,
      `wrote ${secretsFile} (mode 600)`,
      ...(moduleFile ? [`wrote ${moduleFile} (the module resource's code)`] : []),
      "",
      `next: ${template.next}, then run`,
      `  restload check ${shown.includes(" ") ? JSON.stringify(shown) : shown}`,
      "",
    ].join("\n"),
  );
  return 0;
}

/**
 * The error for a template the file system refused to write into `target`: which folder, why in
 * words (not a bare EACCES), and what to do. Errors that are not the file system's pass through.
 *
 * @example
 * cannotWriteError(Object.assign(new Error("…"), { code: "EACCES", path: "/srv/pipeline.toml" }), "/srv")
 * // E_IO: Cannot write the template into /srv as this user may not write in /srv (permission denied)
 */
export function cannotWriteError(error: unknown, target: string): unknown {
  const { code, path, syscall } = (error ?? {}) as { code?: unknown; path?: unknown; syscall?: unknown };
  if (typeof code !== "string") return error;
  const folder = nearestExisting(typeof path === "string" ? path : target);
  const refusal = (reason: string, hint: string) =>
    new RestloadError("E_IO", `Cannot write the template into ${target} as ${reason}`, { hint, context: { file: folder }, cause: error });
  if (code === "EACCES" || code === "EPERM")
    return refusal(
      `this user may not write in ${folder} (permission denied)`,
      `Choose a folder you can write to (e.g. restload init generic ~/my-pipeline), or ask for write access to ${folder}.`,
    );
  if (code === "EROFS") return refusal(`${folder} is on a read-only file system`, "Choose a folder on a writable file system.");
  // mkdir says EEXIST for a file where the folder should be, every call below it ENOTDIR.
  if (code === "ENOTDIR" || (code === "EEXIST" && syscall === "mkdir"))
    return refusal(
      `${folder} is a file, not a folder`,
      "Give a folder path (it is created if missing), e.g. restload init generic ./my-pipeline.",
    );
  return refusal(`the file system refused it (${messageOf(error)})`, "Choose another folder.");
}

// internal

/** `path` itself, or its closest ancestor that exists: the folder (or file) a refusal is about. */
function nearestExisting(path: string): string {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/** Creates `file` with `mode` from the start (no window where a secrets file is world-readable). */
function writeNew(file: string, text: string, mode: number): void {
  const fd = openSync(file, "wx", mode);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
