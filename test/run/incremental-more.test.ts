// Per-parent cursors (the dlt#2429 bug to beat) and append + cursor under kill -9.
import { describe, expect, test } from "bun:test";
import { bunBin, mainTs, repoRoot } from "../helpers.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, randomKillDelays } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

describe("per-parent cursors", () => {
  test("a child of parent A never skips records because parent B's cursor is further along", async () => {
    const events: Record<string, { id: string; ts: number }[]> = {
      a: [1, 2, 3].map((ts) => ({ id: `a${ts}`, ts })),
      b: Array.from({ length: 10 }, (_, i) => ({ id: `b${i + 1}`, ts: i + 1 })),
    };
    const server = startServer((request) => {
      if (request.url.pathname === "/parents") return json([{ id: "a" }, { id: "b" }]);
      const parent = /^\/parents\/(\w+)\/events$/.exec(request.url.pathname)?.[1] ?? "";
      const since = Number(request.url.searchParams.get("since") ?? 0);
      return json((events[parent] ?? []).filter((event) => event.ts >= since));
    });
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\npaginator = "single_page"\n[[resources]]\nname = "parents"\nprimary_key = "id"\nwrite_disposition = "merge"\n[[resources]]\nname = "events"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.path = "parents/{resources.parents.id}/events"\nendpoint.incremental = { cursor_path = "ts", initial_value = 0, start_param = "since" }\ninclude_from_parent = ["id"]\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select parent_key, last_value from data._rl_state order by parent_key")).toEqual([
      { parent_key: '{"id":"a"}', last_value: "3" },
      { parent_key: '{"id":"b"}', last_value: "10" },
    ]);
    events.a!.push({ id: "a4", ts: 4 });
    server.requests.length = 0;
    expect((await p.run()).code).toBe(0);
    expect(server.requests.map((r) => r.url.pathname + r.url.search)).toEqual([
      "/parents",
      "/parents/a/events?since=3",
      "/parents/b/events?since=10",
    ]);
    expect(await p.query("select id, _parents_id from data.events where _parents_id = 'a' order by id")).toEqual([
      { id: "a1", _parents_id: "a" },
      { id: "a2", _parents_id: "a" },
      { id: "a3", _parents_id: "a" },
      { id: "a4", _parents_id: "a" },
    ]);
    expect(await p.query("select count(*) as n from data.events")).toEqual([{ n: 14 }]);
  });
});

describe("append + cursor under kill -9", () => {
  const source = Array.from({ length: 60 }, (_, i) => ({ seq: i + 1, body: `event ${i + 1}` }));

  /** An append + cursor pipeline over an API of `source` that honours `since`, pages of 20. */
  function eventsProject(delayMs: number) {
    const server = startServer(async (request) => {
      if (delayMs > 0) await Bun.sleep(delayMs);
      const since = Number(request.url.searchParams.get("since") ?? 0);
      const page = Number(request.url.searchParams.get("page") ?? 0);
      const rows = source.filter((row) => row.seq >= since);
      const next =
        (page + 1) * 20 < rows.length ? { link: `<${request.url.origin}/events?since=${since}&page=${page + 1}>; rel="next"` } : {};
      return json(rows.slice(page * 20, page * 20 + 20), { headers: next });
    });
    servers.push(server);
    return project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since" }\n`,
    );
  }
  for (const point of ["page_2", "before_commit", "after_commit"]) {
    test(`killed at ${point}, then rerun: rows equal the source with no duplicates at the boundary`, async () => {
      const p = eventsProject(0);
      const crashed = Bun.spawn([bunBin, mainTs, "run", p.pipeline], {
        cwd: repoRoot,
        env: { ...process.env, RESTLOAD_CRASH_AT: `${point}:events` },
        stdout: "ignore",
        stderr: "ignore",
      });
      await crashed.exited;
      expect(crashed.signalCode).toBe("SIGKILL");
      expect((await p.run()).code).toBe(0);
      expect((await p.run()).code).toBe(0);
      expect(await p.query("select seq from data.events order by seq")).toEqual(source.map(({ seq }) => ({ seq })));
      expect(await p.query("select last_value from data._rl_state")).toEqual([{ last_value: "60" }]);
    });
  }

  test("killed at random moments three times, then rerun: rows equal the source with no duplicates", async () => {
    const p = eventsProject(30);
    const kills = randomKillDelays(
      [
        [20, 60],
        [60, 120],
        [100, 200],
      ],
      "test/run/incremental-more.test.ts",
    );
    await kills.replayOnFailure(async () => {
      await kills.killRuns(p.pipeline);
      expect((await p.run()).code).toBe(0);
      expect(await p.query("select seq from data.events order by seq")).toEqual(source.map(({ seq }) => ({ seq })));
    });
  });
});
