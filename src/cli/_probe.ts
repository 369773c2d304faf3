// `check --probe`: the first page of every root resource, and what restload detected from it.
import { type ErrorData, errorData } from "../errors.ts";
import { createExtractor } from "../extract/index.ts";
import type { PlannedPaginator } from "../plan/index.ts";
import { runtimeFetch } from "../runtime/fetch.ts";
import { fileTokenStore } from "../state/token-store.ts";
import { isTable } from "../config/references.ts";
import type { PreparedPipeline } from "./_pipeline.ts";

export interface ProbeResult {
  readonly resource: string;
  readonly ok: boolean;
  readonly status?: number;
  readonly url?: string;
  readonly paginator?: PlannedPaginator & { readonly detected: boolean };
  readonly data_selector?: { readonly path: string; readonly detected: boolean };
  readonly records?: number;
  readonly fields?: readonly string[];
  /** A module resource: its function, and whether it yielded before it was stopped. */
  readonly module?: { readonly module: string; readonly export: string; readonly yielded: boolean };
  readonly error?: ErrorData;
}

/**
 * Fetches one page per root resource (a module resource runs until its first yield, then is
 * closed); a failure is reported for its resource and the others go on.
 */
export async function probe(prepared: PreparedPipeline, signal?: AbortSignal): Promise<ProbeResult[]> {
  const { plan, redactor } = prepared;
  const extractor = createExtractor({
    plan,
    secrets: prepared.secrets,
    redactor,
    fetch: runtimeFetch(plan.client.ca_certificates, prepared.loaded.dir),
    tokenStore: fileTokenStore(plan.database, plan.pipeline),
    onWarning: (warning) => void prepared.io.stderr(`warning: ${warning.message}\n`),
  });
  const results: ProbeResult[] = [];
  for (const resource of plan.resources.filter((candidate) => candidate.parent === null)) {
    try {
      const module = resource.module && { module: resource.module.module, export: resource.module.export, yielded: false };
      let result: ProbeResult = { resource: resource.name, ok: true, records: 0, fields: [], ...(module ? { module } : {}) };
      if (signal?.aborted) break;
      for await (const page of extractor.resourcePages(resource, { maxPages: 1, signal })) {
        const first = page.records[0];
        const fields = isTable(first) ? Object.keys(first) : [];
        if (page.kind === "module") {
          result = { resource: resource.name, ok: true, records: page.records.length, fields, module: { ...module!, yielded: true } };
          continue;
        }
        result = {
          resource: resource.name,
          ok: true,
          status: page.status,
          url: redactor.redact(page.url.toString()),
          paginator: { ...page.paginator, detected: resource.paginator.type === "auto" },
          data_selector: { path: page.selector, detected: resource.data_selector === null },
          records: page.records.length,
          fields,
        };
      }
      results.push(result);
    } catch (error) {
      results.push({ resource: resource.name, ok: false, error: errorData(error, (text) => redactor.redact(text)) });
    }
  }
  return results;
}

export function probeText(results: readonly ProbeResult[]): string {
  const lines = ["", "probe (first page, or first yield, of each root resource)"];
  for (const result of results) {
    if (!result.ok) {
      lines.push(`  ${result.resource}  FAILED  error[${result.error?.code}]: ${result.error?.message}`);
      if (result.error?.hint) lines.push(`    hint: ${result.error.hint}`);
      continue;
    }
    if (result.module) {
      const { module, export: name, yielded } = result.module;
      lines.push(`  ${result.resource}  module ${module} (export ${name})`);
      lines.push(`    records    ${yielded ? `${result.records} in its first yield` : "none: it ended without yielding"}`);
      if (result.fields!.length > 0) lines.push(`    fields     ${result.fields!.join(", ")}`);
      continue;
    }
    if (result.status === undefined) {
      lines.push(`  ${result.resource}  ignored by a response action`);
      continue;
    }
    const { type, ...parameters } = result.paginator!;
    const shown = Object.entries(parameters)
      .filter(([key, value]) => key !== "detected" && value !== null)
      .map(([key, value]) => `${key} = ${JSON.stringify(value)}`);
    lines.push(`  ${result.resource}  ${result.status}  ${result.url}`);
    lines.push(
      `    paginator  ${type}${shown.length > 0 ? ` { ${shown.join(", ")} }` : ""}${result.paginator!.detected ? "  (detected; pin it with endpoint.paginator)" : ""}`,
    );
    lines.push(
      `    selector   ${result.data_selector!.path}${result.data_selector!.detected ? "  (detected; pin it with endpoint.data_selector)" : ""}`,
    );
    lines.push(`    records    ${result.records} on the first page`);
    if (result.fields!.length > 0) lines.push(`    fields     ${result.fields!.join(", ")}`);
  }
  return lines.join("\n") + "\n";
}
