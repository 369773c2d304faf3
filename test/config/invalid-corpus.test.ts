// Every file of test/fixtures/config/invalid/ fails `check` with the code, TOML paths and message
// written in its `# expect:` / `# expect-message:` header.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runMain } from "../helpers.ts";

const dir = join(repoRoot, "test", "fixtures", "config", "invalid");
const cases = readdirSync(dir)
  .map((entry) => (entry.endsWith(".toml") ? join(dir, entry) : join(dir, entry, "pipeline.toml")))
  .filter((file) => existsSync(file))
  .sort();

interface Expectation {
  code: string;
  paths: string[];
  message: string;
}

function expectationOf(file: string): Expectation {
  const text = readFileSync(file, "utf8");
  const expects = [...text.matchAll(/^# expect: (\S+) (\S+)$/gm)];
  const message = /^# expect-message: (.+)$/m.exec(text)?.[1];
  if (expects.length === 0 || message === undefined) throw new Error(`${file} has no # expect header`);
  return { code: expects[0]![1]!, paths: expects.map((m) => m[2]!).filter((path) => path !== "-"), message };
}

describe("invalid pipeline corpus", () => {
  test("holds at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const file of cases) {
    const name = file.slice(dir.length + 1);
    test(`${name} fails with its expected code, paths and message`, async () => {
      const expected = expectationOf(file);
      const result = await runMain(["check", file, "--json"]);
      expect(result.code).toBe(78);
      const output = JSON.parse(result.stdout);
      expect(output.ok).toBe(false);
      expect(output.error.code).toBe(expected.code);
      expect(output.error.problems.map((problem: { path: string }) => problem.path)).toEqual(expected.paths);
      const texts = [output.error.message, ...output.error.problems.map((problem: { message: string }) => problem.message)];
      expect(texts.some((text: string) => text.includes(expected.message))).toBe(true);
    });
  }
});
