// TOML syntax errors say what is wrong in words a user can act on, with line and column.
import { describe, expect, test } from "bun:test";
import { parseToml } from "../../src/config/toml.ts";
import { RestloadError } from "../../src/errors.ts";

function failure(text: string, quoteSource = false): RestloadError {
  try {
    parseToml(text, { source: "p.toml", quoteSource });
  } catch (error) {
    if (error instanceof RestloadError) return error;
    throw error;
  }
  throw new Error("expected a syntax error");
}

describe("TOML syntax errors", () => {
  test("a string left open at the end of its line is an unterminated string, with where it opened", () => {
    const error = failure('[pipeline]\nname = "abc\n[client]\n', true);
    expect(error.code).toBe("E_TOML");
    expect(error.message).toStartWith(
      'Cannot parse p.toml as TOML: unterminated string (the " at column 8 is not closed before the end of the line) at line 2, column 12\n',
    );
    expect(error.message).toContain('2:  name = "abc');
    expect(error.message).not.toContain("control characters");
    expect(error.hint).toBe('Close the string with " on the line it starts; a string over several lines is written between """ and """.');
  });

  test("a literal string, a string in an array and Windows line ends are found too", () => {
    expect(failure("name = 'abc\nx = 1\n").message).toContain("unterminated string (the ' at column 8 is not closed");
    expect(failure('a = ["x", "abc\n]\n').message).toContain('unterminated string (the " at column 11 is not closed');
    expect(failure('name = "abc\r\nx = 1\r\n').message).toContain('unterminated string (the " at column 8 is not closed');
  });

  test("an escaped quote does not close a string, and a quote in a comment opens none", () => {
    expect(failure('name = "ab\\"\nx = 1\n').message).toContain('(the " at column 8 is not closed');
    expect(failure('a = "x" # "\nb = "y\n').message).toContain('(the " at column 5 is not closed before the end of the line) at line 2');
  });

  test("a string open at the end of the file is unterminated too, multi-line strings included", () => {
    expect(failure('name = "abc').message).toContain('unterminated string (no closing " before the end of the file) at line 1, column 8');
    expect(failure('name = """abc\nx = 1\n').message).toContain('unterminated string (no closing """ before the end of the file)');
  });

  test("a real control character inside a string keeps its own message", () => {
    const error = failure('name = "a\u0001b"\n');
    expect(error.message).toContain("control characters are not allowed in strings at line 1, column 10");
    expect(error.hint).toBe("Fix the TOML syntax at that position.");
  });

  test("a secrets file's error gives the position without quoting its lines", () => {
    const error = failure('token = "s3cr3t\n');
    expect(error.message).toBe(
      'Cannot parse p.toml as TOML: unterminated string (the " at column 9 is not closed before the end of the line) at line 1, column 16',
    );
    expect(error.message).not.toContain("s3cr3t");
  });
});
