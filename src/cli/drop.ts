// `restload drop <pipeline.toml> RESOURCE…`: drop resources' tables (child tables included) and
// cursors together, so the next run reloads them whole.
import type { CAC } from "cac";
import { RestloadError, messageOf } from "../errors.ts";
import { describeLockHolder } from "../db/lock-holder.ts";
import type { Plan } from "../plan/index.ts";
import { dropScope } from "../state/drop-scope.ts";
import type { DropItem } from "../state/drop.ts";
import { toJson } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";
import { preparePipeline } from "./_pipeline.ts";
import { plural } from "../util/plural.ts";

interface DropFlags {
  yes?: boolean;
  json?: boolean;
  database?: string;
  lockTimeout?: unknown;
}

export function registerDrop(cli: CAC, io: Io): void {
  cli
    .command(
      "drop <pipeline> <...resources>",
      "Drop resources' tables (child tables included) and cursors in one transaction, with the resources that depend on them: the next run reloads them whole",
    )
    .usage(
      "drop <pipeline.toml> RESOURCE… [options]\n\n" +
        "  Drops the resources' tables (child tables included; only tables this pipeline loaded) and deletes\n" +
        "  their incremental cursors, in one transaction. Resources that depend on a dropped one, or share its\n" +
        "  table, go with it; all are listed first. The next `restload run` loads them whole, incremental ones\n" +
        "  from initial_value. Asks on a terminal, else needs --yes; waits for a run of the pipeline to end\n" +
        "  (--lock-timeout).",
    )
    .option("--yes", "Do not ask first (needed when there is no terminal to ask on)")
    .option("--json", "Print what was dropped as JSON")
    .option("--database <path>", "DuckDB file (overrides pipeline.database)")
    .option(...lockTimeoutOption)
    .example("restload drop github.toml issues")
    .example("restload drop github.toml issues pulls --yes")
    .action((file: string, resources: string[], flags: DropFlags) => runDrop(io, file, resources.map(String), flags));
}

async function runDrop(rawIo: Io, file: string, names: readonly string[], flags: DropFlags): Promise<number> {
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const { plan, io } = await preparePipeline(rawIo, file, { skipSecrets: true, database: flags.database });
  const scope = dropScope(plan, names);
  // DuckDB is loaded only by commands that need it, so --help and --version stay instant.
  const { dropResources, dropsAnything, inspectDrop } = await import("../state/drop.ts");
  await io.stderr(`database: ${plan.database}\n`);
  const found = await inspectDrop(plan, scope, timeout);
  if (!dropsAnything(found)) return nothingToDrop(io, plan, found, flags);
  // What the user agreed to; with --yes nothing was shown, so what is found under the run lock goes.
  let confirmed: readonly DropItem[] | null = null;
  if (!flags.yes) {
    await io.stderr(`This drops from dataset "${plan.dataset}":\n${listing(found)}`);
    if (!io.stdinIsTerminal)
      throw new RestloadError("E_USAGE", `Cannot drop ${quoted(found)} without --yes when there is no terminal to ask`, {
        hint: `Check the list above, then run again with --yes: restload drop ${file} ${names.join(" ")} --yes`,
      });
    if (!(await agreed(io))) return 1;
    confirmed = found;
  }
  for (;;) {
    const outcome = await whileNoRun(plan, timeout, () => dropResources(plan, scope, timeout, confirmed));
    if (outcome.dropped) {
      if (flags.json) await io.stdout(`${toJson(summary(plan, outcome.items, true), 2)}\n`);
      else await io.stdout(outcome.items.map((item) => `dropped ${describe(item, "left")}\n`).join(""));
      return 0;
    }
    // A run changed the dataset after the list was shown: nothing was dropped; the new list is asked about.
    if (!dropsAnything(outcome.items)) return nothingToDrop(io, plan, outcome.items, flags);
    await io.stderr(
      `The dataset changed since that list; nothing was dropped. This now drops from dataset "${plan.dataset}":\n${listing(outcome.items)}`,
    );
    if (!(await agreed(io))) return 1;
    confirmed = outcome.items;
  }
}

async function agreed(io: Io): Promise<boolean> {
  await io.stderr("Drop them? Their next run loads them whole, incremental ones from initial_value. [y/N] ");
  const answer = (await io.readLine()).trim().toLowerCase();
  if (answer === "y" || answer === "yes") return true;
  await io.stderr("left unchanged\n");
  return false;
}

async function nothingToDrop(io: Io, plan: Plan, items: readonly DropItem[], flags: DropFlags): Promise<number> {
  if (flags.json) await io.stdout(`${toJson(summary(plan, items, false), 2)}\n`);
  else
    await io.stdout(
      `nothing to drop: dataset "${plan.dataset}" holds no tables or cursors of ${quoted(items)}\n${listing(items.filter((item) => item.kept.length > 0))}`,
    );
  return 0;
}

/**
 * Runs `work` holding the pipeline's run lock: a run going on keeps its cursors in memory and
 * would write them back, and its rows into tables it knows, after the drop.
 */
async function whileNoRun<T>(plan: Plan, timeout: number, work: () => Promise<T>): Promise<T> {
  const { takeRunLock } = await import("../run/run-lock.ts");
  let lock: { release(): void };
  try {
    lock = await takeRunLock(plan.database, { dataset: plan.dataset, pipeline: plan.pipeline, lockTimeoutMs: timeout });
  } catch (error) {
    if (!(error instanceof RestloadError) || error.code !== "E_LOCKED") throw error;
    const opened = error.cause instanceof RestloadError ? error.cause.cause : error.cause;
    throw new RestloadError(
      "E_LOCKED",
      `Cannot drop resources of pipeline "${plan.pipeline}" as ${describeLockHolder(messageOf(opened))} is running it (waited ${Math.round(timeout / 100) / 10} s)`,
      { hint: "Wait for that run to finish, or raise --lock-timeout.", context: { file: plan.database }, cause: error },
    );
  }
  try {
    return await work();
  } finally {
    lock.release();
  }
}

function listing(items: readonly DropItem[]): string {
  return items.map((item) => `  ${describe(item, "leaves")}\n`).join("");
}

/** `issues: table issues (5 rows), 1 cursor; leaves table issues__archive (only pipeline "archive" loaded it)` */
function describe(item: DropItem, keeps: "leaves" | "left"): string {
  const what = [
    ...item.tables.map((table) => `table ${table.table} (${plural(table.rows, "row")})`),
    ...(item.cursors > 0 ? [plural(item.cursors, "cursor")] : []),
  ];
  const kept = item.kept.map((table) => `table ${table.table} (${table.reason})`);
  const nothing = kept.length > 0 ? "nothing to drop" : "nothing in the database";
  return `${item.name}${item.reason ? ` (${item.reason})` : ""}: ${what.length > 0 ? what.join(", ") : nothing}${kept.length > 0 ? `; ${keeps} ${kept.join(", ")}` : ""}`;
}

function quoted(items: readonly DropItem[]): string {
  return items.map((item) => `"${item.name}"`).join(", ");
}

function summary(plan: Plan, items: readonly DropItem[], dropped: boolean) {
  return {
    database: plan.database,
    dataset: plan.dataset,
    dropped,
    resources: items.map((item) => ({
      resource: item.name,
      reason: item.reason,
      tables: item.tables,
      kept: item.kept,
      cursors: item.cursors,
    })),
  };
}
