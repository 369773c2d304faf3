// Loaded before the tests (bunfig.toml): the temp directories they made (databases, compiled
// binaries) are removed once all tests are done. `bun test` does not emit the process's exit events.
import { afterAll } from "bun:test";
import { removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);
