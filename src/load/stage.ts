// Staged rows: one NDJSON file per table, written as pages arrive, read by DuckDB's read_json at
// commit. Memory stays bounded however many rows a unit has.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "../util/json.ts";

const flushBytes = 1 << 20;

export class StagedTable {
  rows = 0;
  /** The longest line written, in bytes (read_json needs to know). */
  longest = 0;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private fd: number | undefined;

  constructor(readonly table: string, readonly file: string) {}

  add(values: Record<string, unknown>): void {
    let line: string;
    try {
      line = JSON.stringify(values);
    } catch {
      line = toJson(values); // bigint values
    }
    this.buffer.push(line);
    const bytes = Buffer.byteLength(line, "utf8");
    if (bytes > this.longest) this.longest = bytes;
    this.bufferedBytes += bytes + 1;
    this.rows++;
    if (this.bufferedBytes >= flushBytes) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    this.fd ??= openSync(this.file, "a", 0o600);
    const text = this.buffer.join("\n") + "\n";
    const bytes = Buffer.from(text, "utf8");
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(this.fd, bytes, offset);
    this.buffer = [];
    this.bufferedBytes = 0;
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The staging directory of one load unit: `<database>.stage/<load id>/`, removed when done. */
export class Stage {
  readonly tables = new Map<string, StagedTable>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  table(name: string): StagedTable {
    let staged = this.tables.get(name);
    if (!staged) {
      staged = new StagedTable(name, join(this.dir, `${this.tables.size}.ndjson`));
      this.tables.set(name, staged);
    }
    return staged;
  }

  closeAll(): void {
    for (const staged of this.tables.values()) staged.close();
  }

  remove(): void {
    this.closeAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
