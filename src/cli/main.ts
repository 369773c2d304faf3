// The command line: parses argv with cac, runs one command, turns every outcome into an exit code.
import { type CAC, cac } from "cac";
import packageJson from "../../package.json" with { type: "json" };
import { duckdbVersion } from "../db/version.ts";
import { ExitCode, RestloadError, messageOf } from "../errors.ts";
import { runtimeDescription } from "../runtime/info.ts";
import type { Io } from "./_io.ts";
import { formatError, journalError } from "./_format.ts";
import { unknownOption, unmatchedReason } from "./_usage.ts";
import { registerCheck } from "./check.ts";
import { registerExtract } from "./extract.ts";
import { registerInit } from "./init.ts";
import { registerRun } from "./run.ts";
import { registerServe } from "./serve.ts";
import { registerState } from "./state.ts";
import { registerSystemd } from "./systemd.ts";
import { registerTables } from "./tables.ts";
import { registerSql } from "./sql.ts";
import { registerDrop } from "./drop.ts";
import { registerExport } from "./export.ts";

export type { Io } from "./_io.ts";

/** A command's action: resolves to the exit code. */
export type CommandRegistration = (cli: CAC, io: Io) => void;

const commands: readonly CommandRegistration[] = [
  registerRun,
  registerCheck,
  registerExtract,
  registerTables,
  registerState,
  registerServe,
  registerSystemd,
  registerInit,
  registerSql,
  registerDrop,
  registerExport,
];

/** The version line: `restload 0.1.0 (DuckDB 1.5.6, bun 1.4.5, linux-x64)`. */
export function versionLine(): string {
  return `restload ${packageJson.version} (DuckDB ${duckdbVersion}, ${runtimeDescription()}, ${process.platform}-${process.arch})`;
}

/**
 * Runs restload with `argv` (without the program name) and returns the exit code; never exits.
 *
 * @example
 * const code = await main(["sql", "db.duckdb", "select 42"], io);
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    await io.stdout(versionLine() + "\n");
    return ExitCode.ok;
  }
  const cli = cac("restload");
  for (const register of commands) register(cli, io);
  cli.help();
  cli.usage(
    "<command> [options]\n\n  Load any REST API into an embedded DuckDB file from a declarative TOML pipeline.\n\n" +
      "  Exit codes: 0 ok, 1 a unit (or probe) failed, 64 usage, 75 database locked, 78 configuration,\n  130/143 interrupted by SIGINT/SIGTERM.",
  );
  cli.option("-v, --version", "Display the version");
  try {
    cli.parse(["restload", "restload", ...booleanFlagsCamelCased(cli, argv)], { run: false });
    if (cli.options.help) return ExitCode.ok;
    if (!cli.matchedCommand) return await usageError(io, unmatchedReason(cli, argv));
    const code: unknown = await cli.runMatchedCommand();
    return typeof code === "number" ? code : ExitCode.ok;
  } catch (error) {
    if (error instanceof RestloadError) {
      await io.stderr(journalError(io.env, formatError(error)));
      return error.exitCode;
    }
    if (error instanceof Error && error.name === "CACError") {
      const command = cli.matchedCommand;
      if (!command) return await usageError(io, error.message);
      // cac checks unknown flags first and names them camel-cased; ours names them as typed, with the closest one.
      const reason = unknownOption(cli, command, argv) ?? error.message;
      return await usageError(io, reason, `restload ${command.name} --help`, "its arguments and options");
    }
    await io.stderr(journalError(io.env, `error: ${messageOf(error)}\n`));
    return ExitCode.failed;
  }
}

// internal

/**
 * cac tells its parser the camel-cased names of boolean flags (`dryRun`) while users type them
 * kebab-cased (`--dry-run`), so `--dry-run pipeline.toml` would take the path as the flag's value.
 * Writing such flags camel-cased before parsing keeps them boolean wherever they stand.
 */
function booleanFlagsCamelCased(cli: CAC, argv: readonly string[]): string[] {
  const booleans = new Map<string, string>();
  for (const command of [cli.globalCommand, ...cli.commands]) {
    for (const option of command.options) {
      if (!option.isBoolean) continue;
      for (const raw of option.rawName.split(",")) {
        const flag = raw.trim();
        if (/^--[a-z]+(-[a-z]+)+$/.test(flag)) booleans.set(flag, `--${option.name}`);
      }
    }
  }
  return argv.map((arg) => booleans.get(arg) ?? arg);
}

async function usageError(io: Io, message: string, help = "restload --help", what = "the commands and their options"): Promise<number> {
  await io.stderr(journalError(io.env, `error[E_USAGE]: ${message}\n  hint: Run \`${help}\` for ${what}.\n`));
  return ExitCode.usage;
}
