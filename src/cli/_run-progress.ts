// The progress of the unit in progress, per resource: pages, records and their rate, for the
// periodic progress lines of a log and the live line of a terminal.
import type { ResourceProgress } from "./_run-log-lines.ts";

interface Counts {
  pages: number;
  records: number;
  /** Records as of the last progress line (`sinceLastLine`). */
  recordsReported: number;
  /** Pages as of the last progress line. */
  pagesReported: number;
}

export class UnitProgress {
  private unit: string | null = null;
  private startedMs = 0;
  private lastLineMs = 0;
  private readonly resources = new Map<string, Counts>();

  /** A unit starts: its resources count from zero. */
  start(unit: string, now = Date.now()): void {
    this.unit = unit;
    this.startedMs = now;
    this.lastLineMs = now;
    this.resources.clear();
  }

  page(resource: string, records: number): void {
    if (this.unit === null) return;
    const counts = this.resources.get(resource) ?? { pages: 0, records: 0, recordsReported: 0, pagesReported: 0 };
    counts.pages++;
    counts.records += records;
    this.resources.set(resource, counts);
  }

  /** The unit ended (committed or failed): nothing is in progress until the next one starts. */
  end(): void {
    this.unit = null;
    this.resources.clear();
  }

  /**
   * For the live line: each resource of the unit in progress that has had a page, in the order
   * they first had one, its rate since the unit started.
   */
  snapshot(now = Date.now()): ResourceProgress[] {
    return this.progress(this.startedMs, now, [...this.resources], (counts) => counts.records);
  }

  /**
   * For the periodic progress lines: the resources of the unit in progress that had a page since
   * the previous call (or since the unit started), their rate over that span. A resource that has
   * finished, or is waiting on a slow request, gets no line.
   */
  sinceLastLine(now = Date.now()): ResourceProgress[] {
    const active = [...this.resources].filter(([, counts]) => counts.pages > counts.pagesReported);
    const lines = this.progress(this.lastLineMs, now, active, (counts) => counts.records - counts.recordsReported);
    for (const [, counts] of active) {
      counts.pagesReported = counts.pages;
      counts.recordsReported = counts.records;
    }
    this.lastLineMs = now;
    return lines;
  }

  // internal

  private progress(
    fromMs: number,
    now: number,
    resources: readonly (readonly [string, Counts])[],
    recordsInSpan: (counts: Counts) => number,
  ): ResourceProgress[] {
    const unit = this.unit;
    if (unit === null) return [];
    // Over one second at least: a first page would otherwise show a rate of thousands a second.
    const seconds = Math.max(1000, now - fromMs) / 1000;
    return resources.map(([resource, counts]) => ({
      unit,
      resource,
      pages: counts.pages,
      records: counts.records,
      records_per_second: Math.round((recordsInSpan(counts) / seconds) * 10) / 10,
    }));
  }
}
