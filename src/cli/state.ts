// `restload state <pipeline.toml>`: show incremental cursors; reset one resource's, or seed one.
import type { CAC } from "cac";
import { RestloadError } from "../errors.ts";
import { plural } from "../util/plural.ts";
import { rowsToTable, toJson } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";
import { preparePipeline } from "./_pipeline.ts";

interface StateFlags {
  reset?: string;
  set?: string;
  yes?: boolean;
  json?: boolean;
  database?: string;
  lockTimeout?: unknown;
}

export function registerState(cli: CAC, io: Io): void {
  cli
    .command("state <pipeline>", "Show the incremental cursors; --reset RESOURCE clears them, --set RESOURCE=VALUE seeds one")
    .option("--reset <resource>", "Clear the cursors of a resource (every parent record): its next run starts from initial_value")
    .option("--set <resource=value>", "Seed the cursor of a root resource (e.g. to continue where dlt stopped)")
    .option("--yes", "Do not ask before --reset")
    .option("--json", "Print the cursors as JSON")
    .option("--database <path>", "DuckDB file (overrides pipeline.database)")
    .option(...lockTimeoutOption)
    .example("restload state github.toml --set issues=2024-06-01T00:00:00Z")
    .action((file: string, flags: StateFlags) => runState(io, file, flags));
}

async function runState(rawIo: Io, file: string, flags: StateFlags): Promise<number> {
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const { plan, io } = await preparePipeline(rawIo, file, { skipSecrets: true, database: flags.database });
  const resourceNamed = (name: string) => {
    const resource = plan.resources.find((candidate) => candidate.name === name);
    if (!resource)
      throw new RestloadError("E_CONFIG", `There is no resource "${name}" in ${plan.pipeline_file}`, {
        hint: `Resources: ${plan.resources.map((r) => r.name).join(", ")}.`,
      });
    if (!resource.incremental)
      throw new RestloadError("E_CONFIG", `Resource "${name}" has no incremental cursor`, {
        hint: "Only resources with endpoint.incremental (or an incremental param) have state.",
      });
    return resource;
  };
  if (flags.reset !== undefined && flags.set !== undefined) throw new RestloadError("E_USAGE", "--reset and --set cannot be used together");
  const { withCursors } = await import("../state/cursor-command.ts");
  await io.stderr(`database: ${plan.database}\n`);
  if (flags.reset !== undefined) {
    const resource = resourceNamed(flags.reset);
    if (!flags.yes) {
      if (io.stdinIsTerminal) {
        await io.stderr(`Clear every cursor of "${resource.name}"? Its next run starts from initial_value. [y/N] `);
        const answer = (await io.readLine()).trim().toLowerCase();
        if (answer !== "y" && answer !== "yes") {
          await io.stderr("left unchanged\n");
          return 1;
        }
      } else {
        throw new RestloadError("E_USAGE", `--reset ${resource.name} needs --yes when there is no terminal to ask`);
      }
    }
    const removed = await withCursors(plan, timeout, (store) => store.reset(resource.name));
    await io.stdout(`cleared ${plural(removed, "cursor")} of ${resource.name}\n`);
    return 0;
  }
  if (flags.set !== undefined) {
    const match = /^([^=]+)=(.*)$/.exec(String(flags.set));
    if (!match) throw new RestloadError("E_USAGE", `--set expects RESOURCE=VALUE, got "${String(flags.set)}"`);
    const resource = resourceNamed(match[1]!);
    if (resource.parent !== null)
      throw new RestloadError("E_USAGE", `--set works on root resources; "${resource.name}" keeps one cursor per parent record`);
    const value = /^-?\d+$/.test(match[2]!)
      ? Number.isSafeInteger(Number(match[2]))
        ? Number(match[2])
        : BigInt(match[2]!)
      : /^-?\d+\.\d+$/.test(match[2]!)
        ? Number(match[2])
        : match[2]!;
    const cursorPath = resource.incremental!.cursor_path;
    await withCursors(plan, timeout, (store) => store.set(resource.name, cursorPath, value));
    await io.stdout(`cursor of ${resource.name} (${cursorPath}) set to ${String(value)}\n`);
    return 0;
  }
  const cursors = await withCursors(plan, timeout, (store) => store.list());
  if (flags.json) {
    await io.stdout(`${toJson(cursors, 2)}\n`);
    return 0;
  }
  const rows = cursors.map((cursor) => [
    cursor.resource,
    cursor.parent_key || "(root)",
    cursor.cursor_path,
    cursor.last_value,
    cursor.value_type,
    String(cursor.boundary_keys),
    cursor.updated_at ?? "",
  ]);
  await io.stdout(rowsToTable(["resource", "parent", "cursor", "last value", "type", "boundary", "updated"], [], rows));
  return 0;
}
