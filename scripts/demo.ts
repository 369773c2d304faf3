// `npm run demo`: starts the demo API on a free loopback port, loads configs/demo.toml into
// configs/demo.duckdb (or the file given as the first argument), prints the summary and a sample
// query. Works offline. Run it twice: the second run fetches only what changed.
import { join, resolve } from "node:path";
import { startDemoApi } from "./demo-api.ts";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const api = startDemoApi({ issues: 250 });
const env = { ...process.env, RESTLOAD_DEMO_URL: api.url };
// Spawned asynchronously: the demo API answers from this same process.
const restload = (args: string[]) =>
  Bun.spawn([bun, join(root, "src", "main.ts"), ...args], { env, stdout: "inherit", stderr: "inherit" }).exited;

const database = resolve(process.argv[2] ?? join(root, "configs", "demo.duckdb"));
console.log(`demo API listening at ${api.url}\n`);
let code = await restload(["run", join(root, "configs", "demo.toml"), "--database", database]);
if (code === 0) {
  console.log("\nsample query: open issues per label\n");
  code = await restload([
    "sql",
    database,
    `select l.name as label, count(*) as open_issues
       from github.issues i join github.issues__labels l on l._rl_parent_id = i._rl_id
      where i.state = 'open' group by all order by open_issues desc, label`,
  ]);
}
await api.stop();
process.exit(code ?? 1);
