// The load id of each row of a table, as the export groups rows by it. A root table has it in a
// column; a child table's rows take their root row's, through the chain of parent tables.
import { quoteIdent, type Session } from "../db/session.ts";
import type { SystemColumns } from "../normalize/system-columns.ts";
import type { Column } from "./generations.ts";

/** Where a table's rows get their load id: the FROM clause (the table as `t`) and the expression. */
export interface LoadIdSource {
  readonly from: string;
  readonly loadId: string;
}

/**
 * The load id of each row. A root table has it in a column; a child table's rows take their root
 * row's, through the chain of parent tables (`<parent>__<field>`, each found by name and checked:
 * every row's parent id must be a row id of the candidate). A table whose chain cannot be found
 * (names shortened past their parent's, orphan rows) counts as one group: any change rewrites it.
 */
export class Lineage {
  private readonly sources = new Map<string, LoadIdSource>();

  constructor(
    private readonly session: Session,
    private readonly dataset: string,
    private readonly system: SystemColumns,
    private readonly columns: ReadonlyMap<string, readonly Column[]>,
  ) {}

  async of(name: string): Promise<LoadIdSource> {
    const known = this.sources.get(name);
    if (known !== undefined) return known;
    const table = `${this.session.table(this.dataset, name)} AS t`;
    const chain = this.has(name, this.system.loadId) ? [] : await this.parents(name);
    let source: LoadIdSource;
    if (chain === null) source = { from: table, loadId: "''" };
    else {
      let from = table;
      let key = `t.${quoteIdent(this.has(name, this.system.loadId) ? this.system.loadId : this.system.parentId)}`;
      chain.forEach((parent, index) => {
        const next = index === chain.length - 1 ? this.system.loadId : this.system.parentId;
        const alias = `p${index + 1}`;
        from += ` LEFT JOIN (SELECT ${quoteIdent(this.system.id)} AS k, min(${quoteIdent(next)}) AS v FROM ${this.session.table(this.dataset, parent)} GROUP BY 1) AS ${alias} ON ${key} = ${alias}.k`;
        key = `${alias}.v`;
      });
      source = { from, loadId: `coalesce(${key}, '')` };
    }
    this.sources.set(name, source);
    return source;
  }

  /** The tables from `name`'s parent up to its root (the first with a load id column); null when not found. */
  private async parents(name: string): Promise<string[] | null> {
    if (!this.has(name, this.system.parentId)) return null;
    const candidates = [...this.columns.keys()].filter((other) => name.startsWith(`${other}__`)).sort((a, b) => b.length - a.length);
    for (const parent of candidates) {
      if (!this.has(parent, this.system.id)) continue;
      const [orphans] = await this.session.all(
        `SELECT count(*) AS n FROM ${this.session.table(this.dataset, name)} AS c ANTI JOIN ${this.session.table(this.dataset, parent)} AS p ON c.${quoteIdent(this.system.parentId)} = p.${quoteIdent(this.system.id)}`,
      );
      if (Number(orphans?.n ?? 1) !== 0) continue;
      if (this.has(parent, this.system.loadId)) return [parent];
      const above = await this.parents(parent);
      if (above !== null) return [parent, ...above];
    }
    return null;
  }

  private has(table: string, column: string): boolean {
    return this.columns.get(table)?.some((each) => each.name === column) ?? false;
  }
}
