// The resource graph: parents, cycles, topological order, load units and the tables they write.
import type { Problem } from "../errors.ts";
import { normalizeIdentifier } from "../normalize/naming.ts";
import { closest } from "../util/closest.ts";
import type { ResourceDraft } from "./resource.ts";
import { type PlannedTable, plannedTable, writeProblems } from "./tables.ts";
import type { LoadUnit, PlannedResource } from "./types.ts";

export interface Graph {
  readonly resources: readonly PlannedResource[];
  readonly units: readonly LoadUnit[];
  /** Every unit's root tables, each with its governing resource: two units never share one. */
  readonly tables: readonly PlannedTable[];
}

/** Checks parent links and orders resources parents-first; each root and its dependents is one unit. */
export function buildGraph(drafts: readonly ResourceDraft[], problems: Problem[]): Graph {
  const byName = new Map<string, ResourceDraft>();
  for (const draft of drafts) {
    const first = byName.get(draft.name);
    if (first)
      problems.push({
        path: `resources[${draft.index}].name`,
        message: `duplicate resource name "${draft.name}" (also resources[${first.index}])`,
      });
    else byName.set(draft.name, draft);
  }

  const parentOf = new Map<string, string | null>();
  for (const draft of byName.values()) {
    let parent: string | null = null;
    for (const ref of draft.parentRefs) {
      if (ref.resource === draft.name) {
        problems.push({ path: ref.path, message: `resource "${draft.name}" resolves from itself; a resource cannot be its own parent` });
      } else if (!byName.has(ref.resource)) {
        // The resource itself is no candidate: it cannot be its own parent.
        const suggestion = closest(
          ref.resource,
          [...byName.keys()].filter((name) => name !== draft.name),
        );
        problems.push({
          path: ref.path,
          message: `names resource "${ref.resource}", which does not exist${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; resources are: ${[...byName.keys()].join(", ")}`,
        });
      } else if (parent === null) {
        parent = ref.resource;
      } else if (parent !== ref.resource) {
        problems.push({
          path: ref.path,
          message: `resource "${draft.name}" resolves from two parents, "${parent}" and "${ref.resource}"; a resource has one parent`,
        });
      }
    }
    parentOf.set(draft.name, parent);
    problems.push(...writeProblems(draft));
    if (parent === null && draft.include_from_parent.length > 0) {
      problems.push({
        path: `resources[${draft.index}].include_from_parent`,
        message: `resource "${draft.name}" has no parent to include fields from; it needs a {resources.<parent>.<field>} placeholder or a resolve param (a module resource: parent = "<resource>")`,
      });
    }
  }

  // Cycles: follow parent links from every resource.
  const inCycle = new Set<string>();
  for (const name of parentOf.keys()) {
    const chain: string[] = [];
    let current: string | null = name;
    while (current !== null && !chain.includes(current)) {
      chain.push(current);
      current = parentOf.get(current) ?? null;
    }
    if (current === name && !inCycle.has(name)) {
      const cycle = chain.slice(chain.indexOf(current));
      cycle.forEach((member) => inCycle.add(member));
      const draft = byName.get(name)!;
      problems.push({
        path: `resources[${draft.index}]`,
        message: `resolve cycle: ${[...cycle, name].join(" -> ")}; a parent cannot depend on its own children`,
      });
    }
  }
  if (problems.length > 0) return { resources: [], units: [], tables: [] };

  // Units: a root and all its descendants, parents before children, in file order otherwise.
  const children = new Map<string, ResourceDraft[]>();
  for (const draft of byName.values()) {
    const parent = parentOf.get(draft.name);
    if (parent) children.set(parent, [...(children.get(parent) ?? []), draft]);
  }
  const resources: PlannedResource[] = [];
  const units: LoadUnit[] = [];
  const byTable = new Map<string, PlannedTable>();
  for (const root of byName.values()) {
    if (parentOf.get(root.name) !== null) continue;
    const members: ResourceDraft[] = [];
    const queue = [root];
    while (queue.length > 0) {
      const next = queue.shift()!;
      members.push(next);
      queue.push(...(children.get(next.name) ?? []));
    }
    const tables: string[] = [];
    for (const member of members) {
      const table = member.selected ? normalizeIdentifier(member.tableName) : null;
      if (table !== null) {
        // The unit's first resource writing a table governs it (parents before children).
        const governing = byTable.get(table);
        if (governing && governing.unit !== root.name) {
          problems.push({
            path: `resources[${member.index}].${member.tableName === member.name ? "name" : "table_name"}`,
            message: `writes table "${table}", which resource "${governing.resource}" of load unit "${governing.unit}" writes too; two resources may share a table only inside one load unit`,
          });
        } else if (!governing) {
          byTable.set(table, plannedTable(member, { table, unit: root.name }));
        }
        if (!tables.includes(table)) tables.push(table);
      }
      const { parentRefs: _refs, tableName: _name, ...planned } = member;
      resources.push({ ...planned, unit: root.name, table });
    }
    units.push({ name: root.name, resources: members.map((member) => member.name), tables });
  }
  return { resources, units, tables: [...byTable.values()] };
}
