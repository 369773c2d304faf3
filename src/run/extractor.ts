// The run's extractor: the plan's requests with the run's secrets and transport, retries reported as run events.
import { type Extractor, createExtractor } from "../extract/index.ts";
import type { RunOptions } from "./types.ts";

export function extractorFor(options: Omit<RunOptions, "lockTimeoutMs">): Extractor {
  return createExtractor({
    plan: options.plan,
    secrets: options.secrets,
    redactor: options.redactor,
    ...(options.clock ? { clock: options.clock } : {}),
    fetch: options.fetch,
    onRetry: ({ resource, attempt, reason, delayMs }) => options.onEvent?.({ type: "retry", resource, attempt, reason, delay_ms: delayMs }),
  });
}
