// Exactness of checkpointed loads: every record exactly once (and, for merge, exactly its latest
// version) when a unit commits at page boundaries: merge keys seen again after a checkpoint, cursor
// ties across a page boundary, cursors walking downwards, per-parent child cursors, and the units
// that must commit once. Real processes, killed with SIGKILL at crash points; asserted by SQL on
// the DuckDB file.
import { describe, expect, test } from "bun:test";
import { type LoggedRequest, json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { checkpointHead, linkedPage, type Project, project, type SpawnedRun, spawnRun } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

/** Runs the pipeline with RESTLOAD_CRASH_AT = `<point>:<unit>` and expects it to die by SIGKILL. */
async function crashAt(p: Project, point: string, unit: string): Promise<void> {
  const run = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: `${point}:${unit}` });
  await run.proc.exited;
  if (run.proc.signalCode !== "SIGKILL")
    throw new Error(`the run was not killed at ${point} (exit ${run.proc.exitCode}, signal ${run.proc.signalCode}):\n${await run.output}`);
}

/** A run to completion that must exit 0 (its output shown otherwise). */
async function runOk(p: Project, args: string[] = []): Promise<void> {
  const ran = await p.run(args);
  if (ran.code !== 0) throw new Error(`run exited ${ran.code}:\n${ran.stdout}${ran.stderr}`);
}

async function tableExists(p: Project, table: string): Promise<boolean> {
  const [row] = await p.query(`select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = '${table}'`);
  return Number(row!.n) === 1;
}

/** Committed `_rl_loads` rows of `unit`, in order, with their run. */
async function committedLoads(p: Project, unit: string): Promise<{ runId: string; loadId: string; checkpoint: number; final: boolean }[]> {
  if (!(await tableExists(p, "_rl_loads"))) return [];
  const rows = await p.query(
    `select run_id, load_id, checkpoint, final from data._rl_loads where unit = '${unit}' and status = 'committed' order by finished_at, checkpoint`,
  );
  return rows.map((row) => ({
    runId: String(row.run_id),
    loadId: String(row.load_id),
    checkpoint: Number(row.checkpoint),
    final: row.final === true,
  }));
}

/** The stored root cursor of `resource`, or undefined. */
async function storedCursor(p: Project, resource: string): Promise<string | undefined> {
  if (!(await tableExists(p, "_rl_state"))) return undefined;
  const rows = await p.query(`select last_value from data._rl_state where resource = '${resource}' and parent_key = ''`);
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0] === undefined ? undefined : String(rows[0].last_value);
}

/**
 * An API serving `source()` (already in the order it is served) through `select` (the rows a
 * request's params ask for), pages of `perPage` by a Link header, each answered after `delayMs`.
 */
function pagedApi<T>(
  source: () => readonly T[],
  select: (rows: readonly T[], params: URLSearchParams) => T[],
  perPage: number,
  delayMs: number,
) {
  const server = startServer(async (request: LoggedRequest) => {
    if (delayMs > 0) await Bun.sleep(delayMs);
    const params = request.url.searchParams;
    const rows = select(source(), params);
    return linkedPage(request, rows, perPage);
  });
  servers.push(server);
  return server;
}

/** Rows with `seq >= since` (a closed range), in source order. */
const sinceSeq = <T extends { seq: number }>(rows: readonly T[], params: URLSearchParams) => {
  const since = Number(params.get("since") ?? Number.NEGATIVE_INFINITY);
  return rows.filter((row) => row.seq >= since);
};

/** Sorted JSON lines of rows: a multiset comparison that shows what is missing or doubled. */
const multiset = (rows: readonly object[]) => rows.map((row) => JSON.stringify(row)).sort();

// ---------------------------------------------------------------------------------------------

describe("merge across checkpoints", () => {
  interface Item {
    id: number;
    seq: number;
    name: string;
    labels: string[];
  }
  const item = (id: number, seq: number, name: string, labels: string[]): Item => ({ id, seq, name, labels });

  test("a key served again on a later page after a checkpoint keeps one root row (the later version) and only the later version's child rows; a later run replaces it again", async () => {
    const state: { records: Item[] } = {
      records: [
        item(1, 1, "one", ["x"]),
        item(7, 2, "seven old", ["a", "b"]),
        item(2, 3, "two", ["y"]),
        item(3, 4, "three", []),
        item(4, 5, "four", ["z", "w"]),
        item(5, 6, "five", ["v"]),
        item(7, 7, "seven new", ["c"]),
        item(6, 8, "six", ["u"]),
      ],
    };
    const server = pagedApi(() => state.records, sinceSeq, 2, 20);
    const p = project(
      `${checkpointHead(server.url)}[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`,
    );

    /** Root rows and each root's labels, as the database holds them. */
    const expectItems = async (expected: Item[]) => {
      expect(await p.query("select id, seq, name from data.items order by id")).toEqual(
        expected.map(({ id, seq, name }) => ({ id, seq, name })).sort((a, b) => a.id - b.id),
      );
      // Labels joined to their root row through the parent id, in list order.
      const joined = await p.query(
        "select i.id, list(l.value order by l._rl_list_idx) as labels from data.items i join data.items__labels l on l._rl_parent_id = i._rl_id group by i.id order by i.id",
      );
      expect(joined).toEqual(
        expected
          .filter((record) => record.labels.length > 0)
          .map(({ id, labels }) => ({ id, labels }))
          .sort((a, b) => a.id - b.id),
      );
      // And through the root id: no child row of a deleted version is left behind.
      const [orphans] = await p.query(
        "select count(*) as n from data.items__labels l where l._rl_root_id not in (select _rl_id from data.items) or l._rl_parent_id not in (select _rl_id from data.items)",
      );
      expect(Number(orphans!.n)).toBe(0);
      const [children] = await p.query("select count(*) as n from data.items__labels");
      expect(Number(children!.n)).toBe(expected.reduce((sum, record) => sum + record.labels.length, 0));
    };

    await runOk(p);
    const loads = await committedLoads(p, "items");
    expect(loads.length).toBeGreaterThanOrEqual(2);
    // The old version of id 7 (page 1) committed in an earlier checkpoint than the new one (page 4).
    const [seven] = await p.query("select _rl_load_id as load from data.items where id = 7");
    expect(String(seven!.load)).not.toBe(loads[0]!.loadId);
    const latest = (records: Item[]) => [...new Map(records.map((record) => [record.id, record])).values()];
    await expectItems(latest(state.records));
    const [seven7] = await p.query("select count(*) as n from data.items where id = 7");
    expect(Number(seven7!.n)).toBe(1);
    expect(await storedCursor(p, "items")).toBe("8");

    // A second run: id 7 again, with a new cursor value and labels [d].
    state.records = [...state.records, item(7, 9, "seven newer", ["d"])];
    await runOk(p);
    await expectItems(latest(state.records));
    expect(
      await p.query(
        "select l.value from data.items i join data.items__labels l on l._rl_root_id = i._rl_id where i.id = 7 order by l._rl_list_idx",
      ),
    ).toEqual([{ value: "d" }]);
    expect(await storedCursor(p, "items")).toBe("9");
  });
});

// ---------------------------------------------------------------------------------------------

describe("ties across a page boundary", () => {
  interface Event {
    seq: number;
    body: string;
  }
  // Pages of 5: page 1 ends with 5 and page 2 starts with 5; 10 ends page 2, fills page 3 and starts
  // page 4; 12 ends page 4 and starts page 5.
  const seqs = [1, 2, 3, 4, 5, 5, 6, 7, 8, 10, 10, 10, 10, 10, 10, 10, 11, 12, 12, 12, 12, 13, 14, 15, 16];
  const source: Event[] = seqs.map((seq, i) => ({ seq, body: `event ${i + 1}` }));
  const resource = `[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`;

  const expectEqualsSource = async (p: Project) => {
    const [stats] = await p.query("select count(*) as n from data.events");
    expect(Number(stats!.n)).toBe(source.length);
    expect(multiset(await p.query("select seq, body from data.events"))).toEqual(multiset(source));
    expect(await storedCursor(p, "events")).toBe("16");
  };

  test("an unkilled run commits at every page boundary and loads every record once", async () => {
    const server = pagedApi(() => source, sinceSeq, 5, 20);
    const p = project(`${checkpointHead(server.url)}${resource}`);
    await runOk(p);
    expect((await committedLoads(p, "events")).length).toBeGreaterThanOrEqual(4);
    await expectEqualsSource(p);
  });

  const crashes: { points: string[]; committed?: number }[] = [
    { points: ["after_checkpoint_1"], committed: 5 },
    { points: ["after_checkpoint_2"], committed: 10 },
    { points: ["after_checkpoint_3"], committed: 15 },
    { points: ["after_checkpoint_4"], committed: 20 },
    // The rerun of a run killed inside a run of ties is killed again inside it: its first page
    // (records 10..14, all tied at 10) repeats record 10, so its first checkpoint ends at record 14
    // with the cursor still 10, and the stored boundary must now cover records 10..14.
    { points: ["after_checkpoint_2", "after_checkpoint_1"], committed: 14 },
    // Killed a third time: that rerun's first page is all tied records loaded before.
    { points: ["after_checkpoint_2", "after_checkpoint_1", "after_checkpoint_1"] },
  ];
  for (const { points, committed } of crashes) {
    test(`killed at ${points.join(", then at ")}: the committed rows are ${committed === undefined ? "a prefix of the" : `the first ${committed}`} records, and a rerun from the tied cursor loads every record exactly once`, async () => {
      const server = pagedApi(() => source, sinceSeq, 5, 20);
      const p = project(`${checkpointHead(server.url)}${resource}`);
      for (const point of points) await crashAt(p, point, "events");
      // What the kills left is a prefix of the source, each record once, the cursor at its last record.
      const [left] = await p.query("select count(*) as n from data.events");
      const n = Number(left!.n);
      if (committed !== undefined) expect(n).toBe(committed);
      expect(n).toBeGreaterThan(0);
      expect(multiset(await p.query("select seq, body from data.events"))).toEqual(multiset(source.slice(0, n)));
      expect(await storedCursor(p, "events")).toBe(String(source[n - 1]!.seq));
      await runOk(p);
      await expectEqualsSource(p);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('row_order = "desc" with last_value_func = "min"', () => {
  interface Event {
    seq: number;
    body: string;
  }
  // Newest first, 30 records in pages of 5; ties across the boundaries of pages 1/2 and 2/3.
  const source: Event[] = Array.from({ length: 30 }, (_, p) => ({
    seq: 50 - p + (p >= 5 ? 1 : 0) + (p >= 10 ? 1 : 0),
    body: `event ${p + 1}`,
  }));
  /** Rows with `seq <= max_seq` (the cursor walks downwards), newest first. */
  const upTo = (rows: readonly Event[], params: URLSearchParams) => {
    const max = Number(params.get("max_seq") ?? Number.POSITIVE_INFINITY);
    return rows.filter((row) => row.seq <= max);
  };
  const resource = `[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 1000, start_param = "max_seq", row_order = "desc", last_value_func = "min" }\n`;

  test("killed at after_checkpoint_2: the first two pages are committed with the cursor at their minimum; the rerun continues downwards and the table equals the source, the stored cursor its minimum", async () => {
    const server = pagedApi(() => source, upTo, 5, 20);
    const p = project(`${checkpointHead(server.url)}${resource}`);
    await crashAt(p, "after_checkpoint_2", "events");
    expect(multiset(await p.query("select seq, body from data.events"))).toEqual(multiset(source.slice(0, 10)));
    expect(await storedCursor(p, "events")).toBe(String(source[9]!.seq));

    server.requests.length = 0;
    await runOk(p);
    expect(server.requests[0]!.url.searchParams.get("max_seq")).toBe(String(source[9]!.seq));
    const [stats] = await p.query("select count(*) as n from data.events");
    expect(Number(stats!.n)).toBe(source.length);
    expect(multiset(await p.query("select seq, body from data.events"))).toEqual(multiset(source));
    expect(await storedCursor(p, "events")).toBe(String(Math.min(...source.map((row) => row.seq))));

    // Nothing new below the cursor: a third run adds nothing.
    await runOk(p);
    const [again] = await p.query("select count(*) as n from data.events");
    expect(Number(again!.n)).toBe(source.length);
  });
});

// ---------------------------------------------------------------------------------------------

describe("a child resource with a per-parent cursor under checkpoints", () => {
  interface Parent {
    id: number;
    seq: number;
  }
  interface Child {
    ts: number;
    body: string;
  }
  // Pages of 2; parents 4 and 5 share seq 4 across the boundary of pages 2 and 3.
  const parents: Parent[] = Array.from({ length: 8 }, (_, i) => ({ id: i + 1, seq: i + 1 <= 4 ? i + 1 : i }));
  const childrenOf = (id: number): Child[] => [1, 2, 3].map((ts) => ({ ts, body: `parent ${id} child ${ts}` }));

  function api() {
    const server = startServer(async (request) => {
      const path = request.url.pathname;
      const params = request.url.searchParams;
      const child = /^\/parents\/(\d+)\/events$/.exec(path);
      if (child) {
        const id = Number(child[1]);
        // Uneven latency: some child chains are still running at a parent page's end.
        await Bun.sleep(id % 2 === 0 ? 40 : 5);
        const since = Number(params.get("since") ?? 0);
        return json(childrenOf(id).filter((row) => row.ts >= since));
      }
      await Bun.sleep(20);
      const rows = sinceSeq(parents, params);
      return linkedPage(request, rows, 2);
    });
    servers.push(server);
    return server;
  }
  const resources = `[[resources]]\nname = "parents"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n[[resources]]\nname = "events"\nwrite_disposition = "append"\ninclude_from_parent = ["id"]\nendpoint.path = "parents/{resources.parents.id}/events"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "ts", initial_value = 0, start_param = "since" }\n`;
  const allChildren = parents.flatMap(({ id }) => childrenOf(id).map(({ ts, body }) => ({ parents_id: id, ts, body })));

  for (const point of ["before_checkpoint_2", "after_checkpoint_2"]) {
    test(`killed at ${point}: the committed parents have all their children; a rerun loads every parent and every child exactly once`, async () => {
      const server = api();
      const p = project(`${checkpointHead(server.url)}${resources}`);
      await crashAt(p, point, "parents");
      const committedParents = (await p.query("select id from data.parents order by id")).map((row) => Number(row.id));
      // Checkpoint k covers the first k pages of parents (two a page).
      expect(committedParents).toEqual(point === "before_checkpoint_2" ? [1, 2] : [1, 2, 3, 4]);
      // Every committed parent has exactly its children, and no child of an uncommitted parent is there.
      const committedChildren = await p.query("select _parents_id as parents_id, ts, body from data.events");
      expect(multiset(committedChildren)).toEqual(multiset(allChildren.filter((row) => committedParents.includes(row.parents_id))));
      expect(await storedCursor(p, "parents")).toBe(
        String(Math.max(...parents.filter(({ id }) => committedParents.includes(id)).map(({ seq }) => seq))),
      );

      await runOk(p);
      expect(await p.query("select id, count(*) as n from data.parents group by id order by id")).toEqual(
        parents.map(({ id }) => ({ id, n: 1 })),
      );
      const [stats] = await p.query("select count(*) as n from data.events");
      expect(Number(stats!.n)).toBe(allChildren.length);
      expect(multiset(await p.query("select _parents_id as parents_id, ts, body from data.events"))).toEqual(multiset(allChildren));
      // One cursor per parent, at its greatest child.
      const cursors = await p.query("select parent_key, last_value from data._rl_state where resource = 'events' order by parent_key");
      expect(cursors.length).toBe(parents.length);
      for (const cursor of cursors) expect(String(cursor.last_value)).toBe("3");
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe("units that commit once", () => {
  interface Event {
    seq: number;
    body: string;
  }
  const source: Event[] = Array.from({ length: 20 }, (_, i) => ({ seq: i + 1, body: `event ${i + 1}` }));
  const resource = (disposition: string) =>
    `[[resources]]\nname = "events"\nwrite_disposition = "${disposition}"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`;

  /** Committed loads of the unit per run, in run order. */
  const loadsPerRun = async (p: Project) => {
    const counts = new Map<string, { checkpoints: number[]; finals: number }>();
    for (const load of await committedLoads(p, "events")) {
      const entry = counts.get(load.runId) ?? { checkpoints: [], finals: 0 };
      entry.checkpoints.push(load.checkpoint);
      if (load.final) entry.finals++;
      counts.set(load.runId, entry);
    }
    return [...counts.values()];
  };

  test("a replace resource with an ordered cursor and a tiny interval commits exactly once per run", async () => {
    const server = pagedApi(() => source, sinceSeq, 2, 20);
    const p = project(`${checkpointHead(server.url)}${resource("replace")}`);
    await runOk(p);
    expect(await loadsPerRun(p)).toEqual([{ checkpoints: [1], finals: 1 }]);
    expect(multiset(await p.query("select seq, body from data.events"))).toEqual(multiset(source));
    await runOk(p);
    expect(await loadsPerRun(p)).toEqual([
      { checkpoints: [1], finals: 1 },
      { checkpoints: [1], finals: 1 },
    ]);
  });

  test("run --full-refresh of an ordered-incremental append resource commits exactly once and leaves every record once", async () => {
    const server = pagedApi(() => source, sinceSeq, 2, 20);
    const p = project(`${checkpointHead(server.url)}${resource("append")}`);
    await runOk(p);
    const first = await loadsPerRun(p);
    expect(first.length).toBe(1);
    expect(first[0]!.checkpoints.length).toBeGreaterThanOrEqual(2);
    await runOk(p, ["--full-refresh"]);
    const runs = await loadsPerRun(p);
    expect(runs.length).toBe(2);
    expect(runs[1]).toEqual({ checkpoints: [1], finals: 1 });
    const [stats] = await p.query("select count(*) as n from data.events");
    expect(Number(stats!.n)).toBe(source.length);
    expect(multiset(await p.query("select seq, body from data.events"))).toEqual(multiset(source));
    expect(await storedCursor(p, "events")).toBe("20");
  });
});
