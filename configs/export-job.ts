// The module resource of export-job.toml: start an export job, poll it until it is done, read its
// NDJSON result and yield the records, a batch at a time.

/** What restload passes to a module resource's function. */
interface Context {
  fetch(input: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Response>;
  readonly incremental: { start_value: unknown; initial_value: unknown; last_value: unknown; end_value: unknown } | null;
  readonly parent: unknown;
  log(message: string): void;
  sleep(ms: number): Promise<void>;
  parseJson(text: string): unknown;
  readonly signal: AbortSignal;
}

const pollEveryMs = 500;
const batchSize = 500;

export async function* exportedIssues(ctx: Context): AsyncGenerator<unknown[]> {
  // Only what changed since the last run: restload keeps the cursor, the job takes it as `since`.
  const since = ctx.incremental?.start_value;
  const started = await ctx.fetch("exports", { method: "POST", body: JSON.stringify(since ? { since } : {}) });
  const { id } = (await started.json()) as { id: number };
  ctx.log(`export job ${id} started${since ? ` for issues updated since ${since}` : ""}`);

  // A 429 or 5xx while polling is retried by ctx.fetch (with Retry-After); other failures throw.
  for (;;) {
    const job = (await (await ctx.fetch(`exports/${id}`)).json()) as { status: string; records?: number };
    if (job.status === "done") {
      ctx.log(`export job ${id} done: ${job.records ?? "?"} records`);
      break;
    }
    if (job.status !== "running") throw new Error(`export job ${id} ended with status ${job.status}`);
    await ctx.sleep(pollEveryMs);
  }

  // NDJSON: one record a line; parseJson keeps IDs beyond 2^53 exact.
  const text = await (await ctx.fetch(`exports/${id}/result`)).text();
  let batch: unknown[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    batch.push(ctx.parseJson(line));
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
