// The status page in a real headless Chromium: a failing unit's error and hint, when each table was
// last loaded, schema changes per load, the dataset's last export, and content that updates in
// place after a new run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { openDatabase } from "../../src/db/open.ts";
import { repoRoot, restload, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { project, type Project, spawnRun } from "../run/_helpers.ts";
import { launchChromium } from "./_chromium.ts";
import { copyFromBeforeExports, copyWithExports, exportRecord, exportsTableOf, startServe, stopServes, waitFor } from "./_serve.ts";

const servers: TestServer[] = [];
let browser: Browser;
let shop: Project;
let broken: Project;
const others = { records: [{ id: 1, name: "first" }] as unknown[] };

// The first launch on a machine may unpack Chromium from npm (2-8 s): more than bun's hook default.
beforeAll(async () => {
  browser = await launchChromium();
  const api = startServer((request) => {
    if (request.url.pathname === "/gone") return json({ message: "gone for good" }, { status: 410 });
    if (request.url.pathname === "/others") return json(others.records);
    return json([{ id: request.url.searchParams.size, title: "an item" }]);
  });
  servers.push(api);
  const head = (name: string) => `[pipeline]\nname = "${name}"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n`;
  const resource = (name: string) => `[[resources]]\nname = "${name}"\nendpoint.paginator = "single_page"\n`;
  shop = project(`${head("shop")}${resource("items")}${resource("others")}`, "shop");
  broken = project(`${head("broken")}${resource("items")}${resource("gone")}`, "broken");
  expect((await shop.run()).code).toBe(0);
  // Timestamps are shown to the second: the second run finishes in a later one.
  await Bun.sleep(1100);
  others.records = [];
  expect((await shop.run()).code).toBe(0);
  expect((await broken.run()).code).toBe(1);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopServes();
  for (const server of servers) await server.stop();
});

const artifacts = join(repoRoot, "test-artifacts");

async function screenshot(page: import("playwright-core").Page, name: string) {
  if (!existsSync(artifacts)) mkdirSync(artifacts);
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

/** `epoch_ms` from SQL as the page writes times: RFC 3339 in UTC, to the second. */
const iso = (ms: unknown) => new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, "Z");

describe("the status page in a real browser", () => {
  test("a failing unit shows its error code, message, hint and context on the overview and the run detail", async () => {
    const base = await startServe(["--database", shop.database, "--database", broken.database]);
    const [stored] = await broken.query(
      "select error_data->>'$.code' as code, error_data->>'$.hint' as hint, error_data->>'$.context.url' as url from data._rl_loads where unit = 'gone'",
    );
    expect(stored!.hint).toBeTruthy();
    const page = await browser.newPage();
    await page.goto(base);
    const failure = page.locator('section[data-pipeline="broken"] .last-error .failure');
    expect(await failure.count()).toBe(1);
    expect(await failure.locator("strong").textContent()).toBe("unit gone");
    expect(await failure.locator(".error code").textContent()).toBe("E_HTTP");
    expect(await failure.locator(".error").textContent()).toContain("as the server returned 410");
    expect(await failure.locator(".error").textContent()).toContain("gone for good");
    expect(await failure.locator(".hint").textContent()).toBe(`Hint: ${stored!.hint}`);
    expect(await failure.locator(".context").textContent()).toContain(String(stored!.url));
    // The healthy pipeline shows no failure.
    expect(await page.locator('section[data-pipeline="shop"] .last-error').count()).toBe(0);
    await screenshot(page, "overview-failures.png");

    await page.locator('section[data-pipeline="broken"] table.runs a').first().click();
    await page.waitForURL(/\/runs\//);
    const unit = page.locator('section.unit[data-unit="gone"]');
    expect(await unit.locator(".badge").textContent()).toBe("failed");
    expect(await unit.locator(".hint").textContent()).toBe(`Hint: ${stored!.hint}`);
    await screenshot(page, "run-failure.png");
    await page.close();
  }, 60_000);

  test("each table shows when the newest committed load that wrote rows to it finished, as `restload tables` does", async () => {
    const base = await startServe(["--database", shop.database]);
    const expected = await shop.query(
      "select j.key as table_name, epoch_ms(max(l.finished_at)) as at from data._rl_loads l, json_each(l.rows_by_table) j where l.status = 'committed' and j.value::bigint > 0 group by j.key order by j.key",
    );
    expect(expected.map((row) => row.table_name)).toEqual(["items", "others"]);
    const page = await browser.newPage();
    await page.goto(base);
    for (const row of expected) {
      const cell = page.locator(`section[data-pipeline="shop"] tr[data-table="${row.table_name}"] .loaded-at time`);
      expect(await cell.getAttribute("datetime")).toBe(iso(row.at));
    }
    // The second run wrote no rows to "others": its time is the first run's, earlier than "items"'.
    const times = await page
      .locator('section[data-pipeline="shop"] .loaded-at time')
      .evaluateAll((cells) => cells.map((cell) => cell.getAttribute("datetime")));
    expect(times[1]! < times[0]!).toBe(true);
    await page.close();
    // `restload tables` says the same: one rule for when a table was last loaded.
    const listed = await restload(["tables", shop.pipeline, "--json"]);
    expect(listed.code).toBe(0);
    const tables = JSON.parse(listed.stdout) as { table: string; last_loaded_at: string | null }[];
    expect(tables.map((t) => [t.table, t.last_loaded_at])).toEqual(expected.map((row) => [String(row.table_name), iso(row.at)]));
  }, 60_000);

  test("the run detail lists each load's schema changes, and a database without the column shows none", async () => {
    const [first] = await shop.query("select run_id from data._rl_runs order by started_at limit 1");
    const older = join(tempDir("restload-serve-"), "older.duckdb");
    copyFileSync(shop.database, older);
    const db = await openDatabase(older, { create: false, lockTimeoutMs: 0, memoryLimit: "64MB" });
    await db.connection.run("ALTER TABLE data._rl_loads DROP COLUMN schema_changes");
    db.close();
    const base = await startServe(["--database", shop.database, "--database", older]);
    const page = await browser.newPage();
    await page.goto(`${base}runs/${first!.run_id}?db=${encodeURIComponent(shop.database)}`);
    const changes = page.locator('section.unit[data-unit="items"] table.schema-changes tr');
    expect(await changes.nth(1).locator("td").allTextContents()).toEqual(["new table", "items", "", ""]);
    await screenshot(page, "run-schema-changes.png");
    const response = await page.goto(`${base}runs/${first!.run_id}?db=${encodeURIComponent(older)}`);
    expect(response?.status()).toBe(200);
    expect(await page.locator("section.unit").count()).toBe(2);
    expect(await page.locator("table.schema-changes").count()).toBe(0);
    await page.close();
  }, 60_000);

  test("the overview shows the dataset's last export: when, status, what it wrote, the folder, the run it followed or its error; nothing without one", async () => {
    const [newest] = await shop.query("select run_id from data._rl_runs order by started_at desc limit 1");
    const runId = String(newest!.run_id);
    // Whole seconds, as the page shows times; five minutes ago, as its age says.
    const fiveMinutesAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000);
    const okDb = await copyWithExports(shop.database, [
      exportRecord(fiveMinutesAgo, {
        run_id: runId,
        dir: "/srv/lake/data",
        tables_written: 1,
        tables_unchanged: 1,
        files_written: 3,
        rows_written: 1234,
        bytes_written: 1_572_864,
      }),
    ]);
    // The newest by finished_at, whatever order the rows were written in.
    const failedAt = new Date(fiveMinutesAgo.getTime() + 60_000);
    const failedDb = await copyWithExports(shop.database, [
      exportRecord(failedAt, {
        status: "failed",
        rows_written: 0,
        files_written: 0,
        bytes_written: 0,
        error: "Cannot publish <items>: disk full",
      }),
      exportRecord(fiveMinutesAgo, { run_id: runId }),
    ]);
    const olderDb = await copyFromBeforeExports(shop.database);
    const base = await startServe(["--database", okDb, "--database", failedDb, "--database", olderDb, "--database", shop.database]);
    const page = await browser.newPage();
    await page.goto(base);
    const card = (database: string) => page.locator(`section.pipeline[data-database="${database}"]`);
    const field = (database: string, name: string) => card(database).locator(`.last-export tr[data-field="${name}"] td`);

    const ok = card(okDb).locator(".last-export");
    expect(await ok.getAttribute("data-export-status")).toBe("ok");
    expect(await ok.locator("h3 .badge").textContent()).toBe("ok");
    expect(await field(okDb, "finished_at").locator("time").getAttribute("datetime")).toBe(iso(fiveMinutesAgo.getTime()));
    expect(await field(okDb, "finished_at").textContent()).toContain("(5 min ago) in 1.5 s");
    expect(await field(okDb, "tables").textContent()).toBe("1 written, 1 unchanged");
    expect(await field(okDb, "rows_written").textContent()).toBe("1234");
    expect(await field(okDb, "files_written").textContent()).toBe("3");
    expect(await field(okDb, "bytes_written").textContent()).toBe("1.5 MiB");
    expect(await field(okDb, "dir").textContent()).toBe("/srv/lake/data");
    expect(await ok.locator(".failure").count()).toBe(0);
    await screenshot(page, "overview-exports.png");

    const failed = card(failedDb).locator(".last-export");
    expect(await failed.getAttribute("data-export-status")).toBe("failed");
    expect(await failed.locator("h3 .badge").textContent()).toBe("failed");
    expect(await field(failedDb, "finished_at").locator("time").getAttribute("datetime")).toBe(iso(failedAt.getTime()));
    expect(await failed.locator(".failure .error").textContent()).toBe("Cannot publish <items>: disk full");
    expect(await field(failedDb, "trigger").textContent()).toBe("by restload export");
    expect(await field(failedDb, "trigger").locator("a").count()).toBe(0);

    // Neither a database from before exports were recorded nor one never exported shows a block.
    expect(await card(olderDb).count()).toBe(1);
    expect(await card(olderDb).locator(".last-export").count()).toBe(0);
    expect(await card(shop.database).locator(".last-export").count()).toBe(0);
    // Read, never migrated: the older file still has no `_rl_exports`.
    expect(await exportsTableOf(olderDb)).toEqual({ exists: false, version: 5 });

    // The run it followed links to that run's detail in the same database.
    await field(okDb, "trigger").locator("a").click();
    await page.waitForURL(/\/runs\//);
    expect(decodeURIComponent(page.url())).toContain(`/runs/${runId}?db=${okDb}`);
    expect(await page.locator("h1").textContent()).toContain("run of shop");
    await page.close();
  }, 60_000);

  test("a new run appears without a navigation: the content is replaced in place and the scroll position stays", async () => {
    const base = await startServe(["--database", shop.database, "--database", broken.database]);
    const page = await browser.newPage({ viewport: { width: 900, height: 300 } });
    await page.goto(base);
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeGreaterThan(700);
    await page.evaluate(() => {
      window.scrollTo(0, 250);
      (window as unknown as { marker: number }).marker = 42;
    });
    const run = spawnRun(shop.pipeline);
    expect(await run.proc.exited).toBe(0);
    const [newest] = await shop.query("select run_id from data._rl_runs order by started_at desc limit 1");
    const { ms } = await waitFor(
      "the new run on the page",
      async () => ((await page.locator(`a[href*="${newest!.run_id}"]`).count()) > 0 ? true : undefined),
      { timeoutMs: 30_000, everyMs: 100 },
    );
    console.log(`the page showed the new run ${(ms / 1000).toFixed(2)} s after it ended`);
    expect(navigations).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await page.evaluate(() => window.scrollY)).toBe(250);
    await page.close();
  }, 60_000);
});
