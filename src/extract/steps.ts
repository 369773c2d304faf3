// processing_steps: declarative filters and maps, and hooks into the user's own module, applied to
// each page's records in order (before the incremental filter).
import { isTable } from "../config/references.ts";
import type { Condition } from "../config/schema/steps.ts";
import { RestloadError, messageOf } from "../errors.ts";
import type { PlannedResource, PlannedStep } from "../plan/index.ts";
import { compareCursor, cursorType } from "./cursor-values.ts";
import { type ModuleSpec, loadUserFunction } from "./user-module.ts";

/** Applies a resource's steps to a page of records. */
export type StepRunner = (records: readonly unknown[]) => Promise<unknown[]>;

type Hook = (record: unknown) => unknown;

/** Loads the modules the steps name (relative to the pipeline file) and returns the runner. */
export async function compileSteps(steps: readonly PlannedStep[], resource: string, baseDir: string): Promise<StepRunner | undefined> {
  if (steps.length === 0) return undefined;
  const compiled: { index: number; apply: (record: unknown) => Promise<unknown> }[] = [];
  for (const [index, step] of steps.entries()) {
    const where = `step ${index + 1} of resource "${resource}"`;
    if ("filter" in step) {
      const test = await compileCondition(step.filter, where, baseDir);
      compiled.push({ index, apply: async (record) => ((await test(record)) ? record : undefined) });
    } else if ("module" in step.map) {
      const hook = await loadHook(step.map as { module: string; export: string }, where, baseDir);
      compiled.push({ index, apply: async (record) => hook(record) });
    } else {
      const map = step.map as {
        drop?: readonly string[];
        rename?: Readonly<Record<string, string>>;
        set?: Readonly<Record<string, unknown>>;
      };
      compiled.push({ index, apply: async (record) => mapRecord(record, map) });
    }
  }
  return async (records) => {
    const out: unknown[] = [];
    for (let position = 0; position < records.length; position++) {
      let record: unknown = records[position];
      for (const step of compiled) {
        try {
          record = await step.apply(record);
        } catch (error) {
          if (error instanceof RestloadError) throw error;
          throw new RestloadError(
            "E_STEP",
            `Step ${step.index + 1} of resource "${resource}" failed on record ${position + 1} of the page: ${messageOf(error)}`,
            {
              hint: "Fix the step (or the module function it calls).",
              context: { resource },
            },
          );
        }
        if (record === undefined || record === null) break;
      }
      if (record !== undefined && record !== null) out.push(record);
    }
    return out;
  };
}

// internal

async function compileCondition(condition: Condition, where: string, baseDir: string): Promise<(record: unknown) => Promise<boolean>> {
  if ("module" in condition) {
    const hook = await loadHook(condition, where, baseDir);
    return async (record) => Boolean(await hook(record));
  }
  if ("all" in condition) {
    const parts = await Promise.all(condition.all.map((part) => compileCondition(part, where, baseDir)));
    return async (record) => {
      for (const part of parts) if (!(await part(record))) return false;
      return true;
    };
  }
  if ("any" in condition) {
    const parts = await Promise.all(condition.any.map((part) => compileCondition(part, where, baseDir)));
    return async (record) => {
      for (const part of parts) if (await part(record)) return true;
      return false;
    };
  }
  if ("not" in condition) {
    const inner = await compileCondition(condition.not, where, baseDir);
    return async (record) => !(await inner(record));
  }
  const { field, op, value } = condition;
  const pattern = op === "matches" ? new RegExp(String(value)) : undefined;
  return async (record) => {
    const actual = fieldOf(record, field);
    switch (op) {
      case "exists":
        return actual !== undefined && actual !== null;
      case "missing":
        return actual === undefined || actual === null;
      case "eq":
        return same(actual, value);
      case "ne":
        return !same(actual, value);
      case "in":
        return (value as unknown[]).some((candidate) => same(actual, candidate));
      case "not_in":
        return !(value as unknown[]).some((candidate) => same(actual, candidate));
      case "matches":
        return typeof actual === "string" && pattern!.test(actual);
      default: {
        const order = ordered(actual, value);
        if (order === undefined) return false;
        return op === "lt" ? order < 0 : op === "le" ? order <= 0 : op === "gt" ? order > 0 : order >= 0;
      }
    }
  };
}

/** Typed equality: numbers as numbers, RFC 3339 strings as instants, anything else by value. */
function same(a: unknown, b: unknown): boolean {
  const order = ordered(a, b);
  if (order !== undefined) return order === 0;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Typed order, or undefined when the two values do not compare (a string and a number). */
function ordered(a: unknown, b: unknown): number | undefined {
  const ta = cursorType(a);
  const tb = cursorType(b);
  if (ta === undefined || tb === undefined) return undefined;
  const numeric = (t: string) => t === "bigint" || t === "double";
  const instant = (t: string) => t === "timestamp" || t === "date";
  if ((numeric(ta) && numeric(tb)) || (instant(ta) && instant(tb)) || (ta === "text" && tb === "text")) return compareCursor(a, b, "");
  return undefined;
}

function fieldOf(record: unknown, path: string): unknown {
  let current = record;
  for (const key of path.split(".")) {
    if (!isTable(current)) return undefined;
    current = current[key];
  }
  return current;
}

function mapRecord(
  record: unknown,
  map: { drop?: readonly string[]; rename?: Readonly<Record<string, string>>; set?: Readonly<Record<string, unknown>> },
): unknown {
  if (!isTable(record)) return record;
  const copy = structuredClone(record);
  for (const path of map.drop ?? []) removeField(copy, path);
  for (const [from, to] of Object.entries(map.rename ?? {})) {
    const value = fieldOf(copy, from);
    if (value === undefined) continue;
    removeField(copy, from);
    setField(copy, to, value);
  }
  for (const [path, value] of Object.entries(map.set ?? {})) setField(copy, path, value);
  return copy;
}

function removeField(record: Record<string, unknown>, path: string): void {
  const keys = path.split(".");
  const target = keys.length === 1 ? record : fieldOf(record, keys.slice(0, -1).join("."));
  if (isTable(target)) delete target[keys[keys.length - 1]!];
}

function setField(record: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let table = record;
  for (const key of keys.slice(0, -1)) {
    if (!isTable(table[key])) table[key] = {};
    table = table[key] as Record<string, unknown>;
  }
  table[keys[keys.length - 1]!] = value;
}

/** `{ module, export }` in a step or an incremental convert: the named function of the user's file. */
export function loadHook(spec: ModuleSpec, where: string, baseDir: string): Promise<Hook> {
  return loadUserFunction<Hook>(spec, where, baseDir, "E_STEP");
}

/** A resource's `incremental.convert = { module, export }`, loaded; undefined for a named conversion or none. */
export async function loadConvert(resource: PlannedResource, baseDir: string): Promise<Hook | undefined> {
  const convert = resource.incremental?.convert;
  if (convert === null || convert === undefined || typeof convert !== "object") return undefined;
  return loadHook(convert, `the incremental convert of resource "${resource.name}"`, baseDir);
}
