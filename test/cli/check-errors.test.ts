// `check --json` prints a failure as data: code, message, hint, context, problems and exit code.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runMain, tempDir } from "../helpers.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";

const servers = serversStoppedAfterAll();

function pipeline(toml: string): string {
  const file = join(tempDir("restload-check-"), "pipeline.toml");
  writeFileSync(file, toml);
  return file;
}

describe("check --json on failure", () => {
  test("an invalid pipeline gives { ok: false, error } with the file in its context and exit code 78", async () => {
    const file = pipeline(
      `[pipeline]\nname = "test"\n[client]\nbase_url = "http://127.0.0.1:1/"\n[[resources]]\nname = "items"\nwrite_dispositon = "merge"\n`,
    );
    const result = await runMain(["check", file, "--json"]);
    expect(result.code).toBe(78);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      error: {
        code: "E_CONFIG",
        message: expect.any(String),
        hint: expect.any(String),
        context: { file },
        problems: [expect.objectContaining({ path: "resources[0].write_dispositon" })],
        exit_code: 78,
      },
    });
  });

  test("a probe that fails reports the resource's error with its context, the secret masked", async () => {
    const canary = "CANARYprobe5521";
    const server = startServer(() => json({ message: "no" }, { status: 404 }));
    servers.push(server);
    const file = pipeline(
      `[pipeline]\nname = "test"\n[client]\nbase_url = "${server.url}"\nauth = { type = "api_key", name = "key", api_key = { secret = "key" }, location = "query" }\n[[resources]]\nname = "items"\n`,
    );
    const result = await runMain(["check", file, "--probe", "--json"], { RESTLOAD_SECRET_KEY: canary });
    expect(result.code).toBe(1);
    const [probe] = JSON.parse(result.stdout).probe;
    expect(probe).toEqual({
      resource: "items",
      ok: false,
      error: {
        code: "E_HTTP",
        message: expect.stringContaining("returned 404"),
        hint: expect.any(String),
        context: { resource: "items", url: `${server.origin}/items` },
        problems: [],
        exit_code: 1,
      },
    });
    expect(result.stdout).not.toContain(canary);
  });
});
