// Loaded before the tests (bunfig.toml's preload): the temp directories the tests made (databases,
// compiled binaries) are removed once all tests are done. `bun test` emits no process exit events.
import { afterAll } from "bun:test";
import { removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);
