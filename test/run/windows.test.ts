// Incremental windows (`window = "7d"`): a backfill requested as bounded [start, end) slices, every
// record loaded once, the next run asking only for what is new, and what check and a dry run say.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { parsePipelineText } from "../../src/config/load.ts";
import { Redactor } from "../../src/config/redact.ts";
import { createExtractor } from "../../src/extract/index.ts";
import { countWindows, windowSize, windowsBetween } from "../../src/extract/windows.ts";
import { plan } from "../../src/plan/index.ts";
import { type FinishedWindow, extractResource } from "../../src/run/records.ts";
import { fakeClock } from "../extract/_fake-clock.ts";
import { runMain } from "../helpers.ts";
import { type LoggedRequest, json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { linkedPage, project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/**
 * An API of `records` that honours `since` and `until` ([since, until), compared by `compare`),
 * pages of 5 by a Link header, and serves a window's records in an order unrelated to the cursor.
 */
function rangeApi<R extends { id: number }>(
  records: R[],
  cursor: (record: R) => string | number,
  compare: (a: string, b: string) => number,
) {
  const server = startServer((request) => {
    const params = request.url.searchParams;
    const since = params.get("since");
    const until = params.get("until");
    const inRange = records
      .filter((record) => since === null || compare(String(cursor(record)), since) >= 0)
      .filter((record) => until === null || compare(String(cursor(record)), until) < 0)
      .sort((a, b) => ((a.id * 7919) % 101) - ((b.id * 7919) % 101) || a.id - b.id);
    return linkedPage(request, inRange, 5);
  });
  servers.push(server);
  return server;
}

const byInstant = (a: string, b: string) => Math.sign(Date.parse(a) - Date.parse(b));
const byNumber = (a: string, b: string) => Math.sign(Number(a) - Number(b));
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The first request of each window (no page param): the windows a run asked for, in order. */
function windowsAsked(requests: readonly LoggedRequest[]): { since: string | null; until: string | null }[] {
  return requests
    .filter((request) => !request.url.searchParams.has("page"))
    .map((request) => ({ since: request.url.searchParams.get("since"), until: request.url.searchParams.get("until") }));
}

describe("a timestamp cursor with window = 7d", () => {
  for (const disposition of ["append", "merge"] as const) {
    test(`${disposition}: a two-year backfill in bounded, contiguous 7-day windows loads every record once; the next run asks only for what is new`, async () => {
      const now = Date.now();
      const initial = Math.floor(now / day) * day - 730 * day;
      const records: { id: number; updated_at: string }[] = [];
      // Spread over the two years, some exactly on window bounds (and one on initial_value itself).
      for (let i = 0; i < 1000; i++)
        records.push({ id: i + 1, updated_at: iso(initial + Math.floor((i * (730 * day - 3_600_000)) / 1000)) });
      for (let k = 1; k <= 6; k++) records.push({ id: 1000 + k, updated_at: iso(initial + k * 7 * day) });
      const server = rangeApi(records, (record) => record.updated_at, byInstant);
      const p = project(
        `${testHead(server.url)}[[resources]]\nname = "events"\nprimary_key = "id"\nwrite_disposition = "${disposition}"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "updated_at", initial_value = "${iso(initial)}", start_param = "since", end_param = "until", window = "7d" }\n`,
      );

      const before = Math.floor(Date.now() / 1000) * 1000;
      const first = await p.run(["--json"]);
      const after = Date.now();
      expect(first.code).toBe(0);
      for (const request of server.requests) {
        const since = request.url.searchParams.get("since");
        const until = request.url.searchParams.get("until");
        expect(since).not.toBeNull();
        expect(until).not.toBeNull();
        const span = Date.parse(until!) - Date.parse(since!);
        expect(span).toBeGreaterThan(0);
        expect(span).toBeLessThanOrEqual(7 * day);
      }
      const windows = windowsAsked(server.requests);
      // Contiguous from initial_value to the run's start: each window starts where the one before ended.
      expect(windows[0]!.since).toBe(iso(initial));
      for (let i = 1; i < windows.length; i++) expect(windows[i]!.since).toBe(windows[i - 1]!.until);
      const end = Date.parse(windows.at(-1)!.until!);
      expect(end).toBeGreaterThanOrEqual(before);
      expect(end).toBeLessThanOrEqual(after);
      expect(windows.length).toBe(Math.ceil((end - initial) / (7 * day)));
      // Some windows took more than one page: each page after the first continues its own window.
      expect(server.requests.length).toBeGreaterThan(windows.length);
      expect(await p.query("select count(*) as n, count(distinct id) as ids from data.events")).toEqual([
        { n: records.length, ids: records.length },
      ]);
      // The cursor is the last window's end, not the greatest record.
      expect(await p.query("select last_value, value_type, json_array_length(boundary_keys) as keys from data._rl_state")).toEqual([
        { last_value: windows.at(-1)!.until, value_type: "timestamp", keys: 0 },
      ]);

      // New records from exactly the stored cursor on (an end-open window left them out).
      const stored = windows.at(-1)!.until!;
      records.push({ id: 2001, updated_at: stored }, { id: 2002, updated_at: iso(Date.parse(stored) + 400) });
      if (disposition === "merge") records.find((record) => record.id === 7)!.updated_at = stored;
      while (Date.now() < Date.parse(stored) + 1500) await Bun.sleep(50);
      server.requests.length = 0;
      const second = await p.run(["--json"]);
      expect(second.code).toBe(0);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]!.url.searchParams.get("since")).toBe(stored);
      expect(JSON.parse(second.stdout).units[0].rows_by_table.events).toBe(disposition === "merge" ? 3 : 2);
      expect(await p.query("select count(*) as n, count(distinct id) as ids from data.events")).toEqual([
        { n: records.length, ids: records.length },
      ]);
      if (disposition === "merge")
        expect(await p.query("select updated_at::varchar as u from data.events where id = 7")).toEqual([
          { u: stored.replace("T", " ").replace("Z", "+00") },
        ]);

      // Nothing new: at most one request (the last partial window), nothing loaded.
      server.requests.length = 0;
      const third = await p.run(["--json"]);
      expect(third.code).toBe(0);
      expect(server.requests.length).toBeLessThanOrEqual(1);
      expect(JSON.parse(third.stdout).rows).toBe(0);
    });
  }
});

describe("date and numeric windows", () => {
  test('a date cursor with window = "1d": one day per request, each day once, the cursor at end_value', async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      day: iso(Date.UTC(2024, 0, 1) + Math.floor(i / 3) * day).slice(0, 10),
    }));
    const server = rangeApi(records, (record) => record.day, byText);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "days"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "day", initial_value = "2024-01-01", end_value = "2024-01-08", start_param = "since", end_param = "until", window = "1d" }\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(windowsAsked(server.requests)).toEqual(
      Array.from({ length: 7 }, (_, i) => ({
        since: iso(Date.UTC(2024, 0, 1 + i)).slice(0, 10),
        until: iso(Date.UTC(2024, 0, 2 + i)).slice(0, 10),
      })),
    );
    expect(await p.query("select count(*) as n, min(day)::varchar as lo, max(day)::varchar as hi from data.days")).toEqual([
      { n: 21, lo: "2024-01-01", hi: "2024-01-07" },
    ]);
    expect(await p.query("select last_value, value_type from data._rl_state")).toEqual([{ last_value: "2024-01-08", value_type: "date" }]);
  });

  test("a date cursor without end_value stops before today: a day loads once it is over", async () => {
    const today = Math.floor(Date.now() / day) * day;
    const records = [3, 2, 1, 0].map((ago, i) => ({ id: i + 1, day: iso(today - ago * day).slice(0, 10) }));
    const server = rangeApi(records, (record) => record.day, byText);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "days"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "day", initial_value = "${records[0]!.day}", start_param = "since", end_param = "until", window = "1d" }\n`,
    );
    expect((await p.run()).code).toBe(0);
    // A run that crosses midnight UTC may see one day more.
    const asked = windowsAsked(server.requests);
    expect(asked.length === 3 || (asked.length === 4 && Date.now() >= today + day)).toBe(true);
    expect(asked.at(-1)!.until).toBe(iso(Math.floor(Date.now() / day) * day).slice(0, 10));
    expect((await p.query("select id from data.days order by id")).length).toBe(asked.length);
  });

  test("a numeric cursor with window = 1000 and end_value: ten bounded windows, then none until end_value moves", async () => {
    const records = Array.from({ length: 320 }, (_, i) => ({ id: i + 1, n: i * 37 }));
    const server = rangeApi(records, (record) => record.n, byNumber);
    const incremental = (end: number) =>
      `endpoint.incremental = { cursor_path = "n", initial_value = 0, end_value = ${end}, start_param = "since", end_param = "until", window = 1000 }\n`;
    const head = `${testHead(server.url)}[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\n`;
    const p = project(`${head}${incremental(10_000)}`);
    expect((await p.run()).code).toBe(0);
    expect(windowsAsked(server.requests)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ since: String(i * 1000), until: String(i * 1000 + 1000) })),
    );
    const loaded = records.filter((record) => record.n < 10_000).length;
    expect(await p.query("select count(*) as n, count(distinct id) as ids, max(n) as hi from data.items")).toEqual([
      { n: loaded, ids: loaded, hi: 9990 },
    ]);
    expect(await p.query("select last_value, value_type from data._rl_state")).toEqual([{ last_value: "10000", value_type: "bigint" }]);

    server.requests.length = 0;
    expect((await p.run()).code).toBe(0);
    expect(server.requests).toEqual([]);

    writeFileSync(p.pipeline, `${head}${incremental(11_500)}`);
    expect((await p.run()).code).toBe(0);
    expect(windowsAsked(server.requests)).toEqual([
      { since: "10000", until: "11000" },
      { since: "11000", until: "11500" },
    ]);
    const all = records.filter((record) => record.n < 11_500).length;
    expect(await p.query("select count(*) as n, count(distinct id) as ids from data.items")).toEqual([{ n: all, ids: all }]);
  });

  test("children of a windowed root: one chain per parent record", async () => {
    const parents = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, updated_at: iso(Date.UTC(2024, 0, 1) + i * 2 * day) }));
    const server = startServer((request) => {
      const child = /^\/events\/(\d+)\/notes$/.exec(request.url.pathname);
      if (child) return json([1, 2].map((k) => ({ id: Number(child[1]) * 10 + k })));
      const since = request.url.searchParams.get("since")!;
      const until = request.url.searchParams.get("until")!;
      return json(parents.filter((parent) => byInstant(parent.updated_at, since) >= 0 && byInstant(parent.updated_at, until) < 0));
    });
    servers.push(server);
    const p = project(
      `${testHead(server.url)}paginator = "single_page"\n[[resources]]\nname = "events"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z", end_value = "2024-01-29T00:00:00Z", start_param = "since", end_param = "until", window = "7d" }\n[[resources]]\nname = "notes"\nprimary_key = "id"\nendpoint.path = "events/{resources.events.id}/notes"\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(windowsAsked(server.requests.filter((request) => request.url.pathname === "/events"))).toHaveLength(4);
    const notes = server.requests.filter((request) => request.url.pathname.endsWith("/notes")).map((request) => request.url.pathname);
    expect(notes.sort()).toEqual(parents.map((parent) => `/events/${parent.id}/notes`).sort());
    expect(await p.query("select count(*) as n, count(distinct id) as ids from data.notes")).toEqual([{ n: 24, ids: 24 }]);
    expect(await p.query("select count(*) as n from data.events")).toEqual([{ n: 12 }]);
  });
});

describe("window iteration", () => {
  test("windows are cut at their size, the last one at the end; numbers beyond 2^53 stay exact", () => {
    const week = windowSize("7d")!;
    expect([...windowsBetween("2024-01-01T00:00:00Z", "2024-01-20T12:00:00.5Z", week)]).toEqual([
      { index: 0, start: "2024-01-01T00:00:00Z", end: "2024-01-08T00:00:00Z" },
      { index: 1, start: "2024-01-08T00:00:00Z", end: "2024-01-15T00:00:00Z" },
      { index: 2, start: "2024-01-15T00:00:00Z", end: "2024-01-20T12:00:00.500Z" },
    ]);
    expect(countWindows("2024-01-01T00:00:00Z", "2024-01-20T12:00:00.5Z", week)).toBe(3);
    expect([...windowsBetween("2024-01-20T00:00:00Z", "2024-01-20T00:00:00Z", week)]).toEqual([]);
    expect([...windowsBetween(2n ** 60n, 2n ** 60n + 3n, windowSize(2)!)]).toEqual([
      { index: 0, start: 2n ** 60n, end: 2n ** 60n + 2n },
      { index: 1, start: 2n ** 60n + 2n, end: 2n ** 60n + 3n },
    ]);
    expect(windowSize("1w")).toEqual({ kind: "duration", text: "1w", micros: 7n * 86_400_000_000n });
    expect(windowSize("7 days")).toBeUndefined();
    expect(windowSize("0h")).toBeUndefined();
  });

  test("each finished window is reported in order, with its end as the cursor, after its records' child chains", async () => {
    const server = startServer((request) => {
      if (request.url.pathname.startsWith("/events/")) return json([{ id: 1 }]);
      const since = Date.parse(request.url.searchParams.get("since")!);
      return json([{ id: since, updated_at: iso(since + 3_600_000) }]);
    });
    servers.push(server);
    const toml = `${testHead(server.url)}[[resources]]\nname = "events"\nprimary_key = "id"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z", start_param = "since", end_param = "until", window = "7d" }\n[[resources]]\nname = "notes"\nendpoint.paginator = "single_page"\nendpoint.path = "events/{resources.events.id}/notes"\n`;
    const { config } = parsePipelineText(toml, "/tmp/windows-test.toml", {});
    const planned = plan({ file: "/tmp/windows-test.toml", dir: "/tmp", config, secrets: [], envNames: [] }, { env: {} });
    // The run starts 2024-01-20 12:00: three windows, the last one cut there.
    const extractor = createExtractor({
      plan: planned,
      secrets: new Map(),
      redactor: new Redactor([]),
      clock: fakeClock(Date.UTC(2024, 0, 20, 12)),
    });
    const seen: string[] = [];
    const finished: FinishedWindow[] = [];
    await extractResource(planned.resources[0]!, undefined, {
      options: {},
      extractor,
      normalizers: new Map(),
      stage: { table: () => ({ add: () => {} }) },
      unit: "events",
      resources: planned.resources,
      cursors: new Map(),
      cursorUpdates: [],
      walkedChains: new Set(),
      concurrency: 4,
      unitAbort: new AbortController(),
      onWindowFinished: (window) => {
        // Every request so far (the window's own and its records' children) is done by now.
        seen.push(`finished ${window.window.index} after ${server.requests.length} requests`);
        finished.push(window);
      },
    });
    expect(seen).toEqual(["finished 0 after 2 requests", "finished 1 after 4 requests", "finished 2 after 6 requests"]);
    expect(finished.map((window) => [window.resource, window.parentKey, window.cursorPath, window.value])).toEqual([
      ["events", "", "updated_at", { lastValue: "2024-01-08T00:00:00Z", boundaryKeys: [] }],
      ["events", "", "updated_at", { lastValue: "2024-01-15T00:00:00Z", boundaryKeys: [] }],
      ["events", "", "updated_at", { lastValue: "2024-01-20T12:00:00Z", boundaryKeys: [] }],
    ]);
  });
});

describe("check and dry run explain the windows", () => {
  const server = startServer(() => json([]));
  servers.push(server);
  const windowed = (extra: string) =>
    `${testHead(server.url)}[[resources]]\nname = "events"\nendpoint.incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z", start_param = "since", end_param = "until", window = "7d"${extra} }\n`;

  test("check: the size, from the stored cursor else initial_value, to where, and how many windows", async () => {
    const p = project(windowed(""));
    const from = Date.now();
    const text = await runMain(["check", p.pipeline]);
    const to = Date.now();
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      "    windows     7d each, requested as [since, until), from the stored cursor, else initial_value 2024-01-01T00:00:00Z, to the run's start\n",
    );
    const count = Number(/\n {16}(\d+) windows from initial_value as of /.exec(text.stdout)?.[1]);
    const expected = (at: number) => Math.ceil((Math.floor(at / 1000) * 1000 - Date.UTC(2024, 0, 1)) / (7 * day));
    expect(count === expected(from) || count === expected(to)).toBe(true);

    const bounded = project(windowed(', end_value = "2024-03-01T00:00:00Z"'));
    const checked = await runMain(["check", bounded.pipeline, "--json"]);
    expect(JSON.parse(checked.stdout).resources[0].incremental.windows).toEqual({
      size: "7d",
      from: "the stored cursor, else initial_value",
      initial_value: "2024-01-01T00:00:00Z",
      to: "end_value, or the run's start when that is earlier",
      end_value: "2024-03-01T00:00:00Z",
      end_as_of: "2024-03-01T00:00:00Z",
      windows_from_initial_value: 9,
      as_of: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    const plain = project(`${testHead(server.url)}[[resources]]\nname = "events"\n`);
    expect(JSON.parse((await runMain(["check", plain.pipeline, "--json"])).stdout).resources[0].incremental).toBeNull();
  });

  test("run --dry-run requests the windows and says which", async () => {
    const p = project(windowed(', end_value = "2024-03-01T00:00:00Z"'));
    server.requests.length = 0;
    const dry = await p.run(["--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("  windows of events: 9 windows of 7d from initial_value 2024-01-01T00:00:00Z to 2024-03-01T00:00:00Z\n");
    expect(server.requests).toHaveLength(9);
  });
});
