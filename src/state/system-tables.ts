// restload's own tables in the dataset: schema version, runs, loads, incremental state. Created
// before any unit starts (concurrent creation conflicts in DuckDB) and migrated forward on open.
import type { Session } from "../db/session.ts";
import { quoteIdent } from "../db/session.ts";

const migrations: readonly ((session: Session, dataset: string) => string[])[] = [
  // 1: the first layout.
  (session, dataset) => [
    `CREATE TABLE IF NOT EXISTS ${session.table(dataset, "_rl_runs")} (run_id VARCHAR PRIMARY KEY, pipeline VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, exit_code INTEGER, pid INTEGER, host VARCHAR, rows BIGINT, requests BIGINT, retries BIGINT, error VARCHAR)`,
    `CREATE TABLE IF NOT EXISTS ${session.table(dataset, "_rl_loads")} (load_id VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, unit VARCHAR NOT NULL, status VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, rows_by_table JSON, requests BIGINT, retries BIGINT, error VARCHAR)`,
    `CREATE TABLE IF NOT EXISTS ${session.table(dataset, "_rl_state")} (pipeline VARCHAR NOT NULL, resource VARCHAR NOT NULL, parent_key VARCHAR NOT NULL, cursor_path VARCHAR NOT NULL, last_value VARCHAR, value_type VARCHAR, boundary_keys JSON, load_id VARCHAR, updated_at TIMESTAMPTZ, PRIMARY KEY (pipeline, resource, parent_key, cursor_path))`,
  ],
  // 2: per-resource pages, records and retries of each load, for the status page's run detail.
  (session, dataset) => [`ALTER TABLE ${session.table(dataset, "_rl_loads")} ADD COLUMN IF NOT EXISTS resources JSON`],
  // 3: the failure as data (code, message, hint, context, problems, exit_code) beside its one-line text.
  (session, dataset) =>
    ["_rl_runs", "_rl_loads"].map((table) => `ALTER TABLE ${session.table(dataset, table)} ADD COLUMN IF NOT EXISTS error_data JSON`),
  // 4: a unit commits in checkpoints, each a load of its own: its number in the unit, whether it is
  // the unit's last (the unit finished), and the cursors it reached. Older rows were whole units.
  (session, dataset) => {
    const loads = session.table(dataset, "_rl_loads");
    return [
      `ALTER TABLE ${loads} ADD COLUMN IF NOT EXISTS checkpoint INTEGER DEFAULT 1`,
      `ALTER TABLE ${loads} ADD COLUMN IF NOT EXISTS final BOOLEAN DEFAULT true`,
      `ALTER TABLE ${loads} ADD COLUMN IF NOT EXISTS cursor_reached JSON`,
    ];
  },
  // 5: the tables, columns and variant columns each checkpoint committed (`SchemaChange` in
  // runs.ts), as a JSON array; older rows have NULL.
  (session, dataset) => [`ALTER TABLE ${session.table(dataset, "_rl_loads")} ADD COLUMN IF NOT EXISTS schema_changes JSON`],
  // 6: each Parquet export (`restload export`, or after a run with `[export] dir`): where, what it
  // wrote, and how it ended. `run_id` is the run that triggered it, NULL for the export command.
  (session, dataset) => [
    `CREATE TABLE IF NOT EXISTS ${session.table(dataset, "_rl_exports")} (export_id VARCHAR PRIMARY KEY, run_id VARCHAR, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL, status VARCHAR NOT NULL, dir VARCHAR NOT NULL, tables_written INTEGER NOT NULL, tables_unchanged INTEGER NOT NULL, files_written INTEGER NOT NULL, rows_written BIGINT NOT NULL, bytes_written BIGINT NOT NULL, error VARCHAR)`,
  ],
];

/** Creates the dataset schema and the system tables, or migrates them to the current version. */
export async function ensureSystemTables(session: Session, dataset: string): Promise<void> {
  await session.transaction(async () => {
    await session.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(session.catalog)}.${quoteIdent(dataset)}`);
    const version = session.table(dataset, "_rl_version");
    await session.run(`CREATE TABLE IF NOT EXISTS ${version} (version INTEGER NOT NULL, migrated_at TIMESTAMPTZ NOT NULL)`);
    const [row] = await session.all(`SELECT coalesce(max(version), 0) AS version FROM ${version}`);
    const current = Number(row?.version ?? 0);
    for (let next = current; next < migrations.length; next++) {
      for (const statement of migrations[next]!(session, dataset)) await session.run(statement);
      await session.run(`INSERT INTO ${version} VALUES (?, now())`, [next + 1]);
    }
  });
}

/** Names of the system tables (never treated as data tables). */
export function isSystemTable(name: string): boolean {
  return name.startsWith("_rl_");
}
