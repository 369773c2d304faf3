// `restload extract <pipeline.toml>`: stream root resources' records as NDJSON; no database.
import type { CAC } from "cac";
import { interruptedExitCode, messageOf, RestloadError } from "../errors.ts";
import { createExtractor } from "../extract/index.ts";
import { runtimeFetch } from "../runtime/fetch.ts";
import { toJson } from "../util/json.ts";
import { formatError } from "./_format.ts";
import type { Io } from "./_io.ts";
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
    .option("--secrets <path>", "Secrets file (default: secrets.toml, then .restload/secrets.toml beside the pipeline)")
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
    onRetry: (event) =>
      void io.stderr(
        `retry: resource ${event.resource}, attempt ${event.attempt} failed (${event.reason}); next in ${(event.delayMs / 1000).toFixed(1)} s\n`,
      ),
  });
  const skipped = plan.resources.filter((resource) => resource.parent !== null);
  if (skipped.length > 0)
    await io.stderr(`note: child resources are not extracted by this command: ${skipped.map((r) => r.name).join(", ")}\n`);
  let failed = 0;
  for (const resource of roots) {
    let records = 0;
    let pages = 0;
    try {
      if (rawIo.signal?.aborted) break;
      for await (const page of extractor.pages(resource, { maxPages, signal: rawIo.signal })) {
        pages++;
        records += page.records.length;
        if (page.records.length > 0) {
          const name = toJson(resource.name);
          await io.stdout(page.records.map((record) => `{"resource":${name},"record":${toJson(record)}}\n`).join(""));
        }
      }
      await io.stderr(`${resource.name}: ${records} records in ${pages} page${pages === 1 ? "" : "s"}\n`);
    } catch (error) {
      failed++;
      await io.stderr(error instanceof RestloadError ? formatError(error) : `error: ${messageOf(error)}\n`);
      await io.stderr(`${resource.name}: failed after ${records} records in ${pages} page${pages === 1 ? "" : "s"}\n`);
    }
  }
  if (rawIo.signal?.aborted) {
    await io.stderr(`interrupted by ${String(rawIo.signal.reason)}\n`);
    return interruptedExitCode(rawIo.signal.reason);
  }
  const { requests, retries } = extractor.counters;
  await io.stderr(
    `${requests} request${requests === 1 ? "" : "s"}, ${retries} retr${retries === 1 ? "y" : "ies"}${failed > 0 ? `, ${failed} resource${failed === 1 ? "" : "s"} failed` : ""}\n`,
  );
  return failed > 0 ? 1 : 0;
}
