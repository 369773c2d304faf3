// What a mistyped command line gets told: the unknown command or flag, and the closest registered one.
import type { CAC, Command } from "cac";
import { closest } from "../util/closest.ts";

/**
 * Why nothing matched (no command, or one that does not exist, or a flag no command takes), with
 * a "did you mean" among the registered commands and the global flags. `argv` is as the user
 * typed it.
 *
 * @example
 * unmatchedReason(cli, ["runn", "p.toml"]) // 'Unknown command "runn" (did you mean "run"?)'
 */
export function unmatchedReason(cli: CAC, argv: readonly string[]): string {
  const [first] = cli.args;
  if (first !== undefined) {
    if (/\.toml$/i.test(first)) return `Unknown command "${first}": the command comes first, e.g. restload run ${first}`;
    const suggestion = closest(
      first,
      cli.commands.map((command) => command.name),
    );
    return `Unknown command "${first}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
  }
  const flag = unknownOption(cli, cli.globalCommand, argv);
  if (flag !== undefined) return flag;
  if (cli.options.version) return "--version takes no other arguments";
  return "No command given";
}

/**
 * The first flag the matched `command` does not take (nor the global ones), as a message with the
 * closest flag of that command, or the command that takes it; undefined when every flag is known.
 *
 * @example
 * unknownOption(cli, runCommand, ["run", "p.toml", "--selct", "issues"])
 * // 'Unknown option --selct of restload run (did you mean --select?)'
 */
export function unknownOption(cli: CAC, command: Command, argv: readonly string[]): string | undefined {
  const global = cli.globalCommand;
  // cac holds each parsed flag under its camel-cased name (`maxPages`), as cac's own check does.
  const name = Object.keys(cli.options).find((key) => key !== "--" && !command.hasOption(key) && !global.hasOption(key));
  if (name === undefined) return undefined;
  const typed = typedFlag(name, argv);
  const of = command === global ? "" : ` of restload ${command.name}`;
  const known = flagsOf(command === global ? [global] : [command, global]);
  // A one-letter flag is as close to every other letter: no guess.
  const suggestion = bare(typed).length > 1 ? closest(bare(typed), known.map(bare)) : undefined;
  if (suggestion !== undefined) return `Unknown option ${typed}${of} (did you mean ${known.find((flag) => bare(flag) === suggestion)}?)`;
  const owners = cli.commands.filter((other) => other !== command && flagsOf([other]).includes(typed)).map((other) => other.name);
  return `Unknown option ${typed}${of}${owners.length > 0 ? `; it is an option of restload ${owners.join(", restload ")}` : ""}`;
}

// internal

/** `--max-pages`, `-h`: every spelling of every flag the commands take. */
function flagsOf(commands: readonly Command[]): string[] {
  return commands.flatMap((command) =>
    command.options.flatMap((option) => option.rawName.split(",").map((raw) => raw.replace(/[<[].*$/, "").trim())),
  );
}

function bare(flag: string): string {
  return flag.replace(/^-+/, "");
}

/** The flag as the user typed it (`--selct`, `-x`), found again from cac's camel-cased `name`. */
function typedFlag(name: string, argv: readonly string[]): string {
  const camel = (text: string) => text.replace(/([a-z])-([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase());
  for (const arg of argv) {
    const match = /^(--?)(no-)?([^=]+)/.exec(arg);
    if (match && arg !== "--" && camel(match[3]!) === name) return `${match[1]}${match[2] ?? ""}${match[3]}`;
  }
  return name.length > 1 ? `--${name}` : `-${name}`;
}
