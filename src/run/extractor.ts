// The run's extractor: the plan's requests with the run's secrets and transport, retries and auth
// warnings reported as run events, rotated refresh tokens kept beside the database.
import { type Extractor, createExtractor } from "../extract/index.ts";
import { fileTokenStore } from "../state/token-store.ts";
import type { RunOptions } from "./types.ts";

export function extractorFor(options: Omit<RunOptions, "lockTimeoutMs">): Extractor {
  return createExtractor({
    plan: options.plan,
    secrets: options.secrets,
    redactor: options.redactor,
    ...(options.clock ? { clock: options.clock } : {}),
    fetch: options.fetch,
    tokenStore: fileTokenStore(options.plan.database, options.plan.pipeline),
    onRetry: ({ resource, attempt, reason, delayMs }) => options.onEvent?.({ type: "retry", resource, attempt, reason, delay_ms: delayMs }),
    onWarning: ({ unit, message }) => options.onEvent?.({ type: "warning", unit, message }),
  });
}
