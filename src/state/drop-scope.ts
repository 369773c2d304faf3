// Which resources `restload drop` covers: the named ones, their dependents and the resources
// sharing their tables, so that the next run reloads every one of them whole.
import { RestloadError, type Problem } from "../errors.ts";
import type { Plan, PlannedResource } from "../plan/index.ts";
import { closest } from "../util/closest.ts";

export interface ScopedResource {
  readonly name: string;
  /** Why it goes though not named (`depends on "issues"`); null when named. */
  readonly reason: string | null;
}

/**
 * The resources a drop of `names` covers, parents before children. A dependent resource goes with
 * its parent: the reloaded parent requests it again for every parent record, which would load an
 * append child's rows twice. A resource sharing a table goes with it, as its rows go with the
 * table. A resource below an incremental parent that stays cannot go alone: that parent's next
 * run yields only new records, so it would be reloaded only for those. Unknown names and such
 * resources are E_CONFIG (exit 78) with the closest name.
 *
 * @example
 * dropScope(plan, ["issues"]) // [{ name: "issues", reason: null }, { name: "comments", reason: 'depends on "issues"' }]
 */
export function dropScope(plan: Pick<Plan, "resources" | "pipeline_file">, names: readonly string[]): ScopedResource[] {
  const byName = new Map(plan.resources.map((resource) => [resource.name, resource]));
  const problems: Problem[] = [];
  for (const name of names) {
    if (byName.has(name)) continue;
    const suggestion = closest(name, byName.keys());
    problems.push({
      path: name,
      message: `the pipeline has no resource of that name${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; resources are: ${[...byName.keys()].join(", ")}`,
    });
  }
  failOn(problems, plan.pipeline_file);
  const reasons = new Map<string, string | null>(names.map((name) => [name, null]));
  const queue = [...reasons.keys()];
  const add = (name: string, reason: string) => {
    if (reasons.has(name)) return;
    reasons.set(name, reason);
    queue.push(name);
  };
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const resource = byName.get(next)!;
    for (const other of plan.resources) {
      if (other.parent === next) add(other.name, `depends on "${next}"`);
      if (resource.table !== null && other.table === resource.table && other.name !== next)
        add(other.name, `shares table "${resource.table}" with "${next}"`);
    }
  }
  for (const name of reasons.keys()) {
    const kept = ancestors(byName, byName.get(name)!).filter((ancestor) => !reasons.has(ancestor.name) && ancestor.incremental !== null);
    const top = kept.at(-1);
    if (top === undefined) continue;
    problems.push({
      path: name,
      message: `it cannot go without "${top.name}": "${top.name}" is incremental, so its next run would request "${name}" only for its new records; name "${top.name}" instead (its dependent resources go with it)`,
    });
  }
  failOn(problems, plan.pipeline_file);
  return plan.resources
    .filter((resource) => reasons.has(resource.name))
    .map((resource) => ({ name: resource.name, reason: reasons.get(resource.name)! }));
}

// internal

/** Parent, grandparent, … up to the root. */
function ancestors(byName: ReadonlyMap<string, PlannedResource>, resource: PlannedResource): PlannedResource[] {
  const out: PlannedResource[] = [];
  for (let parent = resource.parent; parent !== null; ) {
    const found = byName.get(parent);
    if (found === undefined) break;
    out.push(found);
    parent = found.parent;
  }
  return out;
}

function failOn(problems: readonly Problem[], file: string): void {
  if (problems.length === 0) return;
  const [only] = problems;
  throw new RestloadError(
    "E_CONFIG",
    problems.length === 1 && only ? `Cannot drop "${only.path}": ${only.message}` : `Cannot drop ${problems.length} of the resources named`,
    {
      hint: `Name resources of ${file}; \`restload check ${file}\` lists them with their parents.`,
      context: { file },
      ...(problems.length > 1 ? { problems } : {}),
    },
  );
}
