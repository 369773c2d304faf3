// One run: every selected load unit extracted, normalised, staged, then committed in one DuckDB
// transaction with its _rl_loads row; a failed unit rolls back alone and is recorded.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Redactor } from "../config/redact.ts";
import { openDatabase, runRowGroupSize } from "../db/open.ts";
import { Session } from "../db/session.ts";
import { type ErrorData, errorData, errorLine, messageOf, RestloadError, stopSignal } from "../errors.ts";
import type { Clock } from "../extract/clock.ts";
import { type Extractor, createExtractor } from "../extract/index.ts";
import type { RetryEvent } from "../extract/http/client.ts";
import { readExistingSchema } from "../load/existing-schema.ts";
import { Stage } from "../load/stage.ts";
import { type TableGroup, UnitWriter } from "../load/write.ts";
import { Normalizer, TableKeys, systemColumns } from "../normalize/flatten.ts";
import { Schema } from "../normalize/schema.ts";
import type { LoadUnit, Plan, PlannedResource } from "../plan/index.ts";
import { deleteCursors, readCursors, writeCursor } from "../state/cursors.ts";
import { finishRun, insertLoad, insertRun } from "../state/runs.ts";
import { ensureSystemTables } from "../state/system-tables.ts";
import { StatusFile, removeStaleStatusTemps } from "../state/status-file.ts";
import type { CrashPointHook } from "./crash-points.ts";
import { idGenerator, newLoadId } from "./ids.ts";
import { type CursorUpdate, extractResource } from "./records.ts";
import { groupOf, shapeOf } from "./shapes.ts";

export type RunEvent =
  | { readonly type: "unit_started"; readonly unit: string; readonly loadId: string }
  | { readonly type: "page"; readonly unit: string; readonly resource: string; readonly page: number; readonly records: number }
  | { readonly type: "retry"; readonly event: RetryEvent }
  | { readonly type: "unit_committed"; readonly unit: string; readonly rows: Readonly<Record<string, number>> }
  | { readonly type: "unit_failed"; readonly unit: string; readonly error: ErrorData };

export interface RunOptions {
  readonly plan: Plan;
  readonly secrets: ReadonlyMap<string, string>;
  readonly redactor: Redactor;
  /** Root resources to run (their units); all when absent. */
  readonly units?: readonly string[] | undefined;
  readonly lockTimeoutMs: number;
  readonly onEvent?: (event: RunEvent) => void;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch | undefined;
  /** Reset the cursors of the selected units and replace their tables. */
  readonly fullRefresh?: boolean | undefined;
  /** Aborted (reason "SIGTERM" or "SIGINT") to stop the run: the open unit rolls back. */
  readonly signal?: AbortSignal | undefined;
  /** Called at each crash point; tests of atomicity pass one that kills the process there. */
  readonly onCrashPoint?: CrashPointHook | undefined;
}

export interface UnitResult {
  readonly unit: string;
  readonly load_id: string;
  readonly status: "committed" | "failed";
  readonly rows_by_table: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly retries: number;
  readonly duration_ms: number;
  /** Secrets masked, context included. */
  readonly error: ErrorData | null;
}

export interface RunSummary {
  readonly run_id: string;
  readonly pipeline: string;
  readonly database: string;
  readonly dataset: string;
  readonly status: "succeeded" | "failed" | "interrupted";
  readonly exit_code: number;
  readonly started_at: string;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly rows: number;
  readonly requests: number;
  readonly retries: number;
  readonly units: readonly UnitResult[];
}

/** Runs the pipeline's units against its database; throws only for what stops the whole run (lock, open). */
export async function runPipeline(runOptions: RunOptions): Promise<RunSummary> {
  let options = runOptions;
  const { plan } = options;
  let statusFile: StatusFile | undefined;
  /** Pages, records and retries per resource of the unit in progress, for its `_rl_loads` row. */
  const resourceStats: Record<string, { pages: number; records: number; retries: number }> = {};
  const started = new Date();
  const runId = randomUUID();
  // One DuckDB thread: a run is bound by extraction, and DuckDB's per-thread buffers are what
  // keep memory up (measured: 361 MB instead of 492 MB peak for 100k records, same duration).
  const database = await openDatabase(plan.database, {
    create: true,
    lockTimeoutMs: options.lockTimeoutMs,
    memoryLimit: plan.duckdb_memory_limit,
    threads: 1,
    rowGroupSize: runRowGroupSize,
  });
  try {
    const session = await Session.of(database);
    await ensureSystemTables(session, plan.dataset);
    await markAbandonedRuns(session, plan.dataset);
    // Staged files left by a run that was killed: holding the lock, this run knows it is alone.
    rmSync(`${plan.database}.stage`, { recursive: true, force: true });
    removeStaleStatusTemps(`${plan.database}.status.json`);
    await insertRun(session, plan.dataset, { runId, pipeline: plan.pipeline, startedAt: started });
    statusFile = new StatusFile(`${plan.database}.status.json`, { runId, pipeline: plan.pipeline, startedAt: started }, options.redactor);
    statusFile.start();
    options = { ...options, onEvent: countResources(resourceStats, trackStatus(statusFile, options.onEvent)) };
    const extractor = extractorFor(options);
    const results: UnitResult[] = [];
    for (const unit of selectedUnits(options)) {
      if (options.signal?.aborted) break;
      for (const key of Object.keys(resourceStats)) delete resourceStats[key];
      results.push(await runUnit(session, options, extractor, unit, runId, resourceStats));
    }
    const interrupted = options.signal?.aborted === true;
    const failed = results.some((result) => result.status === "failed");
    const status = interrupted ? "interrupted" : failed ? "failed" : "succeeded";
    const stopped = interrupted ? interruptedError(options.signal!, "run") : undefined;
    const exitCode = stopped ? stopped.exitCode : failed ? 1 : 0;
    const finished = new Date();
    const summary = summarize(runId, plan, started, finished, status, exitCode, extractor, results);
    const firstError = results.find((result) => result.error)?.error;
    await finishRun(session, plan.dataset, {
      runId,
      status: summary.status,
      exitCode: summary.exit_code,
      rows: summary.rows,
      requests: summary.requests,
      retries: summary.retries,
      error: stopped ? `interrupted by ${stopSignal(options.signal!.reason)}` : firstError ? errorLine(firstError) : null,
      errorData: stopped ? errorData(stopped) : (firstError ?? null),
      finishedAt: finished,
    });
    await session.run("CHECKPOINT");
    statusFile.finish(summary.status);
    await statusFile.flushed();
    statusFile = undefined;
    return summary;
  } finally {
    statusFile?.finish("failed");
    await statusFile?.flushed();
    database.close();
  }
}

/** An AbortController that also aborts when `outer` does (the run being stopped). */
function linkedAbort(outer: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
  return controller;
}

/** Counts pages, records and retries per resource, then passes events on. */
function countResources(
  stats: Record<string, { pages: number; records: number; retries: number }>,
  next: (event: RunEvent) => void,
): (event: RunEvent) => void {
  return (event) => {
    const name = event.type === "page" ? event.resource : event.type === "retry" ? event.event.resource : undefined;
    if (name !== undefined) {
      const entry = (stats[name] ??= { pages: 0, records: 0, retries: 0 });
      if (event.type === "page") {
        entry.pages++;
        entry.records += event.records;
      } else entry.retries++;
    }
    next(event);
  };
}

/** Mirrors run events into the status file, then passes them on. */
function trackStatus(status: StatusFile, next: RunOptions["onEvent"]): (event: RunEvent) => void {
  return (event) => {
    switch (event.type) {
      case "unit_started":
        status.unit(event.unit, "running");
        break;
      case "page": {
        const resource = status.resource(event.resource);
        resource.pages++;
        resource.records += event.records;
        break;
      }
      case "retry":
        status.resource(event.event.resource).retries++;
        break;
      case "unit_committed":
        status.unit(event.unit, "committed");
        break;
      case "unit_failed":
        status.unit(event.unit, "failed");
        status.resource(event.unit).errors.push(errorLine(event.error));
        break;
    }
    status.changed();
    next?.(event);
  };
}

/**
 * Extracts and normalises every selected unit without opening the database: what a run would
 * load, per table. Types are inferred afresh (the database's existing columns are not consulted).
 */
export async function dryRun(options: Omit<RunOptions, "lockTimeoutMs">): Promise<RunSummary> {
  const { plan } = options;
  const started = new Date();
  const extractor = extractorFor(options);
  const results: UnitResult[] = [];
  for (const unit of selectedUnits(options)) {
    const before = { ...extractor.counters };
    const unitStarted = Date.now();
    const resources = unit.resources.map((name) => plan.resources.find((resource) => resource.name === name)!);
    const counts: Record<string, number> = {};
    const counter = { table: (name: string) => ({ add: () => void (counts[name] = (counts[name] ?? 0) + 1) }) };
    let error: ErrorData | null = null;
    try {
      const schema = new Schema();
      const normalizers = new Map<string, Normalizer>();
      for (const resource of resources) {
        if (resource.table !== null)
          normalizers.set(
            resource.name,
            new Normalizer(schema, shapeOf(resource), systemColumns(plan.system_prefix), "dry-run", idGenerator()),
          );
      }
      await extractResource(resources[0]!, undefined, {
        options,
        extractor,
        normalizers,
        stage: counter,
        unit: unit.name,
        resources,
        cursors: new Map(),
        cursorUpdates: [],
        walkedChains: new Set(),
        baseDir: dirname(plan.pipeline_file),
        concurrency: plan.max_concurrency,
        unitAbort: linkedAbort(options.signal),
      });
    } catch (caught) {
      error = errorData(loadError(caught, plan), redactWith(options));
      options.onEvent?.({ type: "unit_failed", unit: unit.name, error });
    }
    results.push({
      unit: unit.name,
      load_id: "dry-run",
      status: error ? "failed" : "committed",
      rows_by_table: counts,
      requests: extractor.counters.requests - before.requests,
      retries: extractor.counters.retries - before.retries,
      duration_ms: Date.now() - unitStarted,
      error,
    });
  }
  const failed = results.some((result) => result.status === "failed");
  return summarize("dry-run", plan, started, new Date(), failed ? "failed" : "succeeded", failed ? 1 : 0, extractor, results);
}

// internal

function extractorFor(options: Omit<RunOptions, "lockTimeoutMs">): Extractor {
  return createExtractor({
    plan: options.plan,
    secrets: options.secrets,
    redactor: options.redactor,
    ...(options.clock ? { clock: options.clock } : {}),
    fetch: options.fetch,
    onRetry: (event) => options.onEvent?.({ type: "retry", event }),
  });
}

function selectedUnits(options: Pick<RunOptions, "plan" | "units">): LoadUnit[] {
  return options.plan.units.filter((unit) => !options.units || options.units.includes(unit.name));
}

function summarize(
  runId: string,
  plan: Plan,
  started: Date,
  finished: Date,
  status: RunSummary["status"],
  exitCode: number,
  extractor: Extractor,
  units: readonly UnitResult[],
): RunSummary {
  return {
    run_id: runId,
    pipeline: plan.pipeline,
    database: plan.database,
    dataset: plan.dataset,
    status,
    exit_code: exitCode,
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    rows: units.reduce((sum, unit) => sum + Object.values(unit.rows_by_table).reduce((a, b) => a + b, 0), 0),
    requests: extractor.counters.requests,
    retries: extractor.counters.retries,
    units,
  };
}

async function runUnit(
  session: Session,
  options: RunOptions,
  extractor: Extractor,
  unit: LoadUnit,
  runId: string,
  resourceStats: Readonly<Record<string, { pages: number; records: number; retries: number }>>,
): Promise<UnitResult> {
  const { plan } = options;
  const loadId = newLoadId();
  const started = new Date();
  const before = { ...extractor.counters };
  options.onEvent?.({ type: "unit_started", unit: unit.name, loadId });
  const resources = unit.resources.map((name) => plan.resources.find((resource) => resource.name === name)!);
  const finish = (status: "committed" | "failed", rows: Record<string, number>, error: ErrorData | null): UnitResult => ({
    unit: unit.name,
    load_id: loadId,
    status,
    rows_by_table: rows,
    requests: extractor.counters.requests - before.requests,
    retries: extractor.counters.retries - before.retries,
    duration_ms: Date.now() - started.getTime(),
    error,
  });
  let stage: Stage | undefined;
  let writer: UnitWriter | undefined;
  let open = false;
  try {
    const schema = new Schema(await readExistingSchema(session, plan.dataset));
    const system = systemColumns(plan.system_prefix);
    const normalizers = new Map<string, Normalizer>();
    const groups = new Map<string, TableGroup>();
    const keysByTable = new Map<string, TableKeys>();
    const owner = tableOwner(plan, unit);
    for (const resource of resources) {
      if (resource.table === null) continue;
      const keys = keysByTable.get(resource.table) ?? new TableKeys();
      keysByTable.set(resource.table, keys);
      // Rows go by the disposition of the resource governing their table, which may be another of the unit's.
      const governing = resources.find((candidate) => candidate.name === owner(resource.table!)) ?? resource;
      const normalizer = new Normalizer(schema, shapeOf(resource, governing), system, loadId, idGenerator(), keys);
      normalizers.set(resource.name, normalizer);
      const group = groupOf(resource, normalizer.keys);
      // --full-refresh: the resource's tables are replaced, as its cursors start over.
      groups.set(resource.name, options.fullRefresh ? { ...group, disposition: { disposition: "replace", strategy: null } } : group);
    }
    const root = resources[0]!;
    const names = resources.map((resource) => resource.name);
    const cursors = options.fullRefresh ? new Map() : await readCursors(session, plan.dataset, plan.pipeline, names);
    const cursorUpdates: CursorUpdate[] = [];
    const unitAbort = linkedAbort(options.signal);
    // The unit's transaction is open while it extracts: each staged segment is loaded as soon as
    // it is complete (DuckDB works on its own thread), and nothing is visible before COMMIT.
    await session.run("BEGIN TRANSACTION");
    open = true;
    const unitWriter = new UnitWriter(
      { session, dataset: plan.dataset, schema, system, loadId, existingOwner: owner, signal: unitAbort.signal },
      groups,
      (error) => {
        if (!unitAbort.signal.aborted) unitAbort.abort(error);
      },
    );
    writer = unitWriter;
    // A table this unit stages rows in is governed by one of its own resources.
    const unitOwner = (table: string) => {
      const name = owner(table);
      return name !== undefined && unit.resources.includes(name) ? name : undefined;
    };
    stage = new Stage(`${plan.database}.stage/${loadId}`, (staged, segment) => unitWriter.add(staged, segment), unitOwner);
    await extractResource(root, undefined, {
      options,
      extractor,
      normalizers,
      stage,
      unit: unit.name,
      resources,
      cursors,
      cursorUpdates,
      walkedChains: new Set(),
      baseDir: dirname(plan.pipeline_file),
      concurrency: plan.max_concurrency,
      unitAbort,
    });
    stage.closeAll();
    if (options.signal?.aborted) throw interruptedError(options.signal, "unit");
    const rows = await unitWriter.finish();
    // The cursors move with the rows they cover, in the same transaction.
    if (options.fullRefresh) for (const name of names) await deleteCursors(session, plan.dataset, plan.pipeline, name);
    for (const update of cursorUpdates) {
      await writeCursor(session, plan.dataset, {
        pipeline: plan.pipeline,
        resource: update.resource,
        parentKey: update.parentKey,
        cursorPath: update.cursorPath,
        loadId,
        value: update.value,
      });
    }
    await insertLoad(session, plan.dataset, {
      loadId,
      runId,
      unit: unit.name,
      status: "committed",
      startedAt: started,
      finishedAt: new Date(),
      rowsByTable: rows,
      requests: extractor.counters.requests - before.requests,
      retries: extractor.counters.retries - before.retries,
      error: null,
      resources: resourceStats,
    });
    if (options.signal?.aborted) throw interruptedError(options.signal, "unit");
    options.onCrashPoint?.("before_commit", unit.name);
    await session.run("COMMIT");
    open = false;
    options.onCrashPoint?.("after_commit", unit.name);
    options.onEvent?.({ type: "unit_committed", unit: unit.name, rows });
    return finish("committed", rows, null);
  } catch (caught) {
    // A failed write stops extraction: its error is the one to report.
    const cause = writer?.error ?? caught;
    const error = errorData(
      options.signal?.aborted ? interruptedError(options.signal, "unit") : loadError(cause, plan),
      redactWith(options),
    );
    await writer?.settled();
    if (open) await session.run("ROLLBACK").catch(() => {});
    // The unit's data rolled back with its transaction; its failure is recorded on its own.
    const result = finish("failed", {}, error);
    await insertLoad(session, plan.dataset, {
      loadId,
      runId,
      unit: unit.name,
      status: "failed",
      startedAt: started,
      finishedAt: new Date(),
      rowsByTable: {},
      requests: result.requests,
      retries: result.retries,
      error,
      resources: resourceStats,
    });
    options.onEvent?.({ type: "unit_failed", unit: unit.name, error });
    return result;
  } finally {
    stage?.remove();
  }
}

/**
 * Which resource's write disposition governs a table: the resource whose table name is the table's
 * longest prefix (`issues__labels` belongs to `issues`, unless a resource loads `issues__labels`
 * itself); between resources of the same table name, this unit's first, in unit order.
 */
function tableOwner(plan: Plan, unit: LoadUnit): (table: string) => string | undefined {
  const ours = unit.resources.map((name) => plan.resources.find((resource) => resource.name === name)!);
  const candidates = [...ours, ...plan.resources.filter((resource) => !unit.resources.includes(resource.name))].filter(
    (resource) => resource.table !== null,
  );
  return (table) => {
    let best: PlannedResource | undefined;
    for (const resource of candidates) {
      const name = resource.table!;
      if ((table === name || table.startsWith(`${name}__`)) && (best === undefined || name.length > best.table!.length)) best = resource;
    }
    return best?.name;
  };
}

/** E_INTERRUPTED carrying the signal, which decides the exit code (SIGINT 130, SIGTERM 143). */
function interruptedError(signal: AbortSignal, of: "unit" | "run"): RestloadError {
  const name = stopSignal(signal.reason);
  return new RestloadError("E_INTERRUPTED", of === "unit" ? `Interrupted by ${name}; the unit was rolled back` : `Interrupted by ${name}`, {
    hint: "Run the pipeline again: it resumes from the last committed unit.",
    context: { signal: name },
  });
}

/** Masks the run's secrets in error texts before they are logged, printed or stored. */
function redactWith(options: Pick<RunOptions, "redactor">): (text: string) => string {
  return (text) => options.redactor.redact(text);
}

/**
 * Runs still marked "running" when a new run holds the database ended without finishing (killed,
 * machine lost): DuckDB's lock means no other run can be alive now.
 */
async function markAbandonedRuns(session: Session, dataset: string): Promise<void> {
  await session.run(
    `UPDATE ${session.table(dataset, "_rl_runs")} SET status = 'interrupted', error = 'the process ended before the run finished (killed or crashed)' WHERE status = 'running'`,
  );
}

/**
 * The error recorded for a failed unit; DuckDB running out of memory, and a full disk, get a hint
 * on what to do.
 */
export function loadError(caught: unknown, plan: Pick<Plan, "database" | "duckdb_memory_limit">): RestloadError {
  const message = messageOf(caught);
  if (/No space left on device|ENOSPC/.test(message)) {
    return new RestloadError("E_LOAD", `The disk holding ${plan.database} is full: ${message.split("\n")[0]}`, {
      hint: "Free space on that disk (staged files and DuckDB's temporary files are written beside the database); the unit rolled back and the next run loads it again.",
      cause: caught,
    });
  }
  if (/Out of Memory Error/.test(message)) {
    return new RestloadError(
      "E_LOAD",
      `DuckDB ran out of memory while loading (duckdb_memory_limit = ${plan.duckdb_memory_limit}): ${message.split("\n")[0]}`,
      {
        hint: 'Raise pipeline.duckdb_memory_limit (very wide tables need about 100 KB per column), or store wide objects whole with columns.<field> = { data_type = "json" }.',
        cause: caught,
      },
    );
  }
  return caught instanceof RestloadError ? caught : new RestloadError("E_LOAD", message, { cause: caught });
}
