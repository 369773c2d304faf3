// `restload extract <pipeline.toml>`: stream root resources' records as NDJSON; no database.
import type { CAC } from "cac";
import { ExitCode, interruptedExitCode, messageOf, RestloadError } from "../errors.ts";
import { createExtractor } from "../extract/index.ts";
import { runtimeFetch } from "../runtime/fetch.ts";
import { fileTokenStore } from "../state/token-store.ts";
import { toJson } from "../util/json.ts";
import { plural } from "../util/plural.ts";
import { formatError } from "./_format.ts";
import { type Io, isOutputClosed } from "./_io.ts";
import { preparePipeline, selectRoots } from "./_pipeline.ts";

interface ExtractFlags {
  select?: unknown;
  maxPages?: unknown;
  secrets?: string;
}

export function registerExtract(cli: CAC, io: Io): void {
  cli
    .command(
      "extract <pipeline>",
      'Stream the records of root resources as NDJSON on stdout, one {"resource", "record"} a line; no database',
    )
    .option("--select <names>", "Only these root resources (comma-separated)")
    .option("--max-pages <n>", "Stop each resource after this many pages")
    .option(
      "--secrets <path>",
      "Secrets file (default: secrets.toml, then .restload/secrets.toml, then .dlt/secrets.toml beside the pipeline)",
    )
    .example("restload extract github.toml --select issues --max-pages 2 | jq .record.title")
    .action((file: string, flags: ExtractFlags) => runExtract(io, file, flags));
}

async function runExtract(rawIo: Io, file: string, flags: ExtractFlags): Promise<number> {
  const maxPages = flags.maxPages === undefined ? undefined : Number(flags.maxPages);
  if (maxPages !== undefined && (!Number.isInteger(maxPages) || maxPages < 1)) {
    throw new RestloadError("E_USAGE", `--max-pages expects a whole number of at least 1, got "${String(flags.maxPages)}"`);
  }
  const prepared = await preparePipeline(rawIo, file, { secretsFile: flags.secrets });
  const { io, plan } = prepared;
  const roots = selectRoots(plan, flags.select);
  const extractor = createExtractor({
    plan,
    secrets: prepared.secrets,
    redactor: prepared.redactor,
    fetch: runtimeFetch(plan.client.ca_certificates, prepared.loaded.dir),
    tokenStore: fileTokenStore(plan.database, plan.pipeline),
    onWarning: (warning) => void io.stderr(`warning: ${warning.message}\n`),
    onRetry: (event) =>
      void io.stderr(
        `retry: resource ${event.resource}, attempt ${event.attempt} failed (${event.reason}); next in ${(event.delayMs / 1000).toFixed(1)} s\n`,
      ),
  });
  const skipped = plan.resources.filter((resource) => resource.parent !== null);
  if (skipped.length > 0)
    await io.stderr(`note: child resources are not extracted by this command: ${skipped.map((r) => r.name).join(", ")}\n`);
  // Aborted when stdout's reader goes away (`| head`): requests in flight are cancelled.
  const closed = new AbortController();
  const signal = rawIo.signal ? AbortSignal.any([rawIo.signal, closed.signal]) : closed.signal;
  let failed = 0;
  for (const resource of roots) {
    let records = 0;
    let pages = 0;
    try {
      if (rawIo.signal?.aborted) break;
      const log = (message: string) => void io.stderr(`${resource.name}: ${message}\n`);
      for await (const page of extractor.resourcePages(resource, { maxPages, signal, log })) {
        pages++;
        records += page.records.length;
        if (page.records.length > 0) {
          const name = toJson(resource.name);
          await writeRecords(io, page.records.map((record) => `{"resource":${name},"record":${toJson(record)}}\n`).join(""));
        }
      }
      await io.stderr(`${resource.name}: ${plural(records, "record")} in ${plural(pages, "page")}\n`);
    } catch (error) {
      // Nobody reads the records any more: stop requesting, quietly, as `cat` and `grep` do; a
      // resource that failed before still makes the exit status 1 (its error is on stderr).
      if (error instanceof OutputClosed) {
        closed.abort(error);
        return failed > 0 ? ExitCode.failed : ExitCode.ok;
      }
      failed++;
      await io.stderr(error instanceof RestloadError ? formatError(error) : `error: ${messageOf(error)}\n`);
      await io.stderr(`${resource.name}: failed after ${plural(records, "record")} in ${plural(pages, "page")}\n`);
    }
  }
  if (rawIo.signal?.aborted) {
    await io.stderr(`interrupted by ${String(rawIo.signal.reason)}\n`);
    return interruptedExitCode(rawIo.signal.reason);
  }
  const { requests, retries } = extractor.counters;
  await io.stderr(
    `${plural(requests, "request")}, ${plural(retries, "retry")}${failed > 0 ? `, ${plural(failed, "resource")} failed` : ""}\n`,
  );
  return failed > 0 ? ExitCode.failed : ExitCode.ok;
}

// internal

/** stdout's reader went away. */
class OutputClosed extends Error {
  override readonly name = "OutputClosed";
}

/** Writes to stdout; a closed pipe becomes OutputClosed, told apart from failures of extraction. */
async function writeRecords(io: Io, text: string): Promise<void> {
  try {
    await io.stdout(text);
  } catch (error) {
    if (isOutputClosed(error)) throw new OutputClosed("stdout was closed", { cause: error });
    throw error;
  }
}
