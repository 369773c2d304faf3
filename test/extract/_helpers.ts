// Builds an extractor from pipeline TOML text, as `restload extract` would, with a fake clock.
import { parsePipelineText } from "../../src/config/load.ts";
import { Redactor } from "../../src/config/redact.ts";
import type { Clock } from "../../src/extract/clock.ts";
import { fakeClock } from "./_fake-clock.ts";
import { type ChainPage, createExtractor } from "../../src/extract/index.ts";
import type { RetryEvent } from "../../src/extract/http/client.ts";
import { plan } from "../../src/plan/index.ts";

export interface Extracted {
  readonly records: Record<string, unknown[]>;
  readonly pages: Record<string, ChainPage[]>;
  readonly error: Error | undefined;
  readonly retries: RetryEvent[];
  readonly clock: Clock & { slept: number[]; advance(ms: number): void };
  readonly redactor: Redactor;
  readonly requests: number;
}

/** Extracts every root resource of `toml` (or those named) and collects pages, records and the first error. */
export async function extract(
  toml: string,
  options: {
    secrets?: Record<string, string>;
    only?: string[];
    maxPages?: number;
    clock?: Clock & { slept: number[]; advance(ms: number): void };
  } = {},
): Promise<Extracted> {
  const { config } = parsePipelineText(toml, "/tmp/test-pipeline.toml", {});
  const planned = plan({ file: "/tmp/test-pipeline.toml", dir: "/tmp", config, secrets: [], envNames: [] }, { env: {} });
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const redactor = new Redactor(secrets.values());
  const clock = options.clock ?? fakeClock();
  const retries: RetryEvent[] = [];
  const extractor = createExtractor({ plan: planned, secrets, redactor, clock, onRetry: (event) => retries.push(event) });
  const records: Record<string, unknown[]> = {};
  const pages: Record<string, ChainPage[]> = {};
  let error: Error | undefined;
  for (const resource of planned.resources.filter((r) => r.parent === null && (!options.only || options.only.includes(r.name)))) {
    records[resource.name] = [];
    pages[resource.name] = [];
    try {
      for await (const page of extractor.pages(resource, { maxPages: options.maxPages })) {
        pages[resource.name]!.push(page);
        records[resource.name]!.push(...page.records);
      }
    } catch (caught) {
      error ??= caught as Error;
    }
  }
  return { records, pages, error, retries, clock, redactor, requests: extractor.counters.requests };
}

/** `[pipeline]` and `[client]` for a local server. */
export function pipelineHead(baseUrl: string, client = ""): string {
  return `[pipeline]\nname = "test"\n\n[client]\nbase_url = "${baseUrl}"\n${client}\n`;
}
