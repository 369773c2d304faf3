// Loaded before the tests (bunfig.toml's preload): the suite's timeout, and removal of the temp
// directories the tests made (databases, compiled binaries) once all tests are done.
import { afterAll, setDefaultTimeout } from "bun:test";
import { removeTempDirs } from "./helpers.ts";

// Tests spawn real processes, compile the binary once, unpack a browser and start local servers: on
// a busy 2-core machine bun's 5 s default fails them. This applies to hooks too, and to
// `bun test <file>` as much as to `npm test` (bun ignores a `timeout` key in bunfig.toml).
setDefaultTimeout(120_000);

afterAll(removeTempDirs);
