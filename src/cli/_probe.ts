// `check --probe`: the first page of every root resource, and what restload detected from it.
import { type ErrorData, errorData } from "../errors.ts";
import { createExtractor } from "../extract/index.ts";
import type { PlannedPaginator } from "../plan/index.ts";
import { runtimeFetch } from "../runtime/fetch.ts";
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
  readonly error?: ErrorData;
}

/** Fetches one page per root resource; a failure is reported for its resource and the others go on. */
export async function probe(prepared: PreparedPipeline, signal?: AbortSignal): Promise<ProbeResult[]> {
  const { plan, redactor } = prepared;
  const extractor = createExtractor({
    plan,
    secrets: prepared.secrets,
    redactor,
    fetch: runtimeFetch(plan.client.ca_certificates, prepared.loaded.dir),
  });
  const results: ProbeResult[] = [];
  for (const resource of plan.resources.filter((candidate) => candidate.parent === null)) {
    try {
      let result: ProbeResult = { resource: resource.name, ok: true, records: 0, fields: [] };
      if (signal?.aborted) break;
      for await (const page of extractor.pages(resource, { maxPages: 1, signal })) {
        const first = page.records[0];
        result = {
          resource: resource.name,
          ok: true,
          status: page.status,
          url: redactor.redact(page.url.toString()),
          paginator: { ...page.paginator, detected: resource.paginator.type === "auto" },
          data_selector: { path: page.selector, detected: resource.data_selector === null },
          records: page.records.length,
          fields: isTable(first) ? Object.keys(first) : [],
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
  const lines = ["", "probe (first page of each root resource)"];
  for (const result of results) {
    if (!result.ok) {
      lines.push(`  ${result.resource}  FAILED  error[${result.error?.code}]: ${result.error?.message}`);
      if (result.error?.hint) lines.push(`    hint: ${result.error.hint}`);
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
