// A table two resources of a unit write follows the planned governing resource (the unit's first
// writing it) for its disposition, keys and child rows, whatever the other resource declares.
import { describe, expect, test } from "bun:test";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

/** items lists two records; details fetches each one in full, with a child list, into the same table. */
function listThenDetails() {
  const server = startServer(async (request) => {
    const detail = /^\/items\/(\d+)$/.exec(request.url.pathname);
    if (detail) return json({ id: Number(detail[1]), body: `full text ${detail[1]}`, tags: [`t${detail[1]}`] });
    return json([{ id: 1 }, { id: 2 }]);
  });
  servers.push(server);
  return server;
}

const details = (disposition: string) =>
  `[[resources]]\nname = "details"\ntable_name = "items"\nprimary_key = "id"\nwrite_disposition = "${disposition}"\nendpoint.path = "items/{resources.items.id}"\nendpoint.paginator = "single_page"\nendpoint.data_selector = "$"\n`;

describe("the governing resource of a shared table", () => {
  test("an append resource governs its table though the resource sharing it merges: every run's rows stay", async () => {
    const server = listThenDetails();
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\n${details("merge")}`);
    for (let run = 0; run < 2; run++) expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, count(*) as n from data.items group by id order by id")).toEqual([
      { id: 1, n: 4 },
      { id: 2, n: 4 },
    ]);
    expect(await p.query("select count(*) as n from data.items__tags")).toEqual([{ n: 4 }]);
  });

  test("a replace resource governs its table and its child tables though the resource sharing it appends", async () => {
    const server = listThenDetails();
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n${details("append")}`);
    for (let run = 0; run < 2; run++) expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, count(*) as n from data.items group by id order by id")).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
    expect(await p.query("select value from data.items__tags order by value")).toEqual([{ value: "t1" }, { value: "t2" }]);
  });
});
