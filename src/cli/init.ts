// `restload init [github|pokeapi|generic] [DIR]`: scaffold pipeline.toml and secrets.toml.
import type { CAC } from "cac";
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { RestloadError } from "../errors.ts";
import { closest } from "../util/closest.ts";
import type { Io } from "./_io.ts";
import { type TemplateName, templates } from "./_templates.ts";

export function registerInit(cli: CAC, io: Io): void {
  cli
    .command("init [template] [dir]", "Write pipeline.toml and secrets.toml (mode 600) from a template: github, pokeapi or generic")
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
      hint: "Templates: github, pokeapi, generic.",
    });
  }
  const template = templates[name as TemplateName];
  const target = resolve(dir);
  const pipelineFile = join(target, "pipeline.toml");
  const secretsFile = join(target, "secrets.toml");
  const existing = [pipelineFile, secretsFile].filter((file) => existsSync(file));
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
  mkdirSync(target, { recursive: true });
  writeNew(pipelineFile, template.pipeline, 0o644);
  writeNew(secretsFile, template.secrets, 0o600);
  const fromHere = relative(process.cwd(), pipelineFile);
  const shown = fromHere && !fromHere.startsWith("..") ? fromHere : pipelineFile;
  await io.stdout(
    [
      `wrote ${pipelineFile} (template ${name})`,
      `wrote ${secretsFile} (mode 600)`,
      "",
      `next: ${template.next}, then run`,
      `  restload check ${shown.includes(" ") ? JSON.stringify(shown) : shown}`,
      "",
    ].join("\n"),
  );
  return 0;
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
