// One line on a terminal redrawn in place, at most a few times a second however often it changes.

/** Erases the terminal's current line and returns to its start. */
const eraseLine = "\r\x1b[K";

export class LiveLine {
  /** Drawn and not ended by a newline yet: the next draw replaces it. */
  private shown = false;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private pending: ReturnType<typeof setTimeout> | undefined;

  /**
   * `render` gives the line's text now (undefined: nothing to show); `write` puts text on the
   * terminal; the line is drawn at most every `minIntervalMs`.
   */
  constructor(
    private readonly render: () => string | undefined,
    private readonly write: (text: string) => void,
    private readonly minIntervalMs = 250,
  ) {}

  /** The state changed: drawn now, or once `minIntervalMs` has passed since the last draw. */
  changed(): void {
    if (this.pending !== undefined) return;
    const wait = this.lastDrawMs + this.minIntervalMs - Date.now();
    if (wait <= 0) {
      this.draw();
      return;
    }
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.draw();
    }, wait);
  }

  /**
   * Called before another line is written: returns the line's latest state, ended by a newline so
   * it stays above what follows (empty when nothing is shown or waiting to be).
   */
  settle(): string {
    const waiting = this.pending !== undefined;
    this.stop();
    if (!this.shown && !waiting) return "";
    this.shown = false;
    const text = this.render();
    return text === undefined ? eraseLine : `${eraseLine}${text}\n`;
  }

  /** No more draws (the run ended). */
  stop(): void {
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.pending = undefined;
  }

  // internal

  private draw(): void {
    const text = this.render();
    if (text === undefined) return;
    this.lastDrawMs = Date.now();
    this.shown = true;
    this.write(`${eraseLine}${text}`);
  }
}
