import { describe, expect, test } from "bun:test";
import { parseTemplate, renderTemplate } from "../../src/plan/template.ts";
import { normalizeIdentifier } from "../../src/normalize/naming.ts";
import { Redactor } from "../../src/config/redact.ts";
import { closest } from "../../src/util/closest.ts";

describe("templates", () => {
  test("split text and placeholders of both kinds", () => {
    expect(parseTemplate("issues/{resources.issues.number}/comments?since={incremental.start_value}")).toEqual([
      "issues/",
      { kind: "resource", resource: "issues", field: "number", text: "{resources.issues.number}" },
      "/comments?since=",
      { kind: "incremental", name: "start_value", text: "{incremental.start_value}" },
    ]);
  });

  test("a field may be a dotted path", () => {
    expect(parseTemplate("{resources.pulls.user.login}")).toEqual([
      { kind: "resource", resource: "pulls", field: "user.login", text: "{resources.pulls.user.login}" },
    ]);
  });

  test("{{ and }} are literal braces; braces around non-names stay literal", () => {
    expect(parseTemplate("query {{ viewer { login } }}")).toEqual(["query { viewer { login } }"]);
  });

  test("names that are not placeholders are reported as unknown", () => {
    expect(parseTemplate("orgs/{owner}")).toEqual(["orgs/", { kind: "unknown", name: "owner", text: "{owner}" }]);
  });

  test("a whole-value placeholder keeps the value's type; inside text it becomes text", () => {
    const value = () => 42;
    expect(renderTemplate("{resources.a.n}", value)).toBe(42);
    expect(renderTemplate("n-{resources.a.n}", value)).toBe("n-42");
  });
});

describe("identifiers", () => {
  test("become snake_case", () => {
    expect(normalizeIdentifier("issueComments")).toBe("issue_comments");
    expect(normalizeIdentifier("HTTPStatusCode")).toBe("http_status_code");
    expect(normalizeIdentifier("user-name")).toBe("user_name");
    expect(normalizeIdentifier("2fa")).toBe("_2fa");
    expect(normalizeIdentifier("")).toBe("_");
  });

  test("over-long names are shortened with a hash and stay distinct", () => {
    const a = normalizeIdentifier("x".repeat(80) + "a");
    const b = normalizeIdentifier("x".repeat(80) + "b");
    expect(a.length).toBe(63);
    expect(a).not.toBe(b);
  });
});

describe("redaction", () => {
  test("masks a secret raw and in its percent, form, base64 and JSON forms", () => {
    const secret = 'p+s/w=d&"x"';
    const redactor = new Redactor([secret]);
    for (const form of [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ k: secret }).toString().slice(2),
      Buffer.from(secret).toString("base64"),
      JSON.stringify(secret).slice(1, -1),
    ]) {
      expect(redactor.redact(`before ${form} after`)).toBe("before *** after");
    }
  });
});

describe("suggestions", () => {
  test("find near misses and ignore far ones", () => {
    expect(closest("pagintor", ["path", "paginator", "params"])).toBe("paginator");
    expect(closest("zzzzzz", ["path", "paginator"])).toBeUndefined();
  });
});
