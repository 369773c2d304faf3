// Which JavaScript runtime runs restload, for --version and bug reports.

/** "bun 1.4.5" or "deno 2.9.6". */
export function runtimeDescription(): string {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  if (deno) return `deno ${deno.version.deno}`;
  return `node ${process.versions.node}`;
}
