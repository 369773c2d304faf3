// The bounded scheduler: a semaphore caps the requests a pipeline has in flight (first come,
// first served, so resources and parents take turns), and a task pool runs child chains of
// different parent records concurrently, holding back the parent chain when too many wait.

/** A counting semaphore with a FIFO queue. */
export class Semaphore {
  private available: number;
  private readonly queue: (() => void)[] = [];

  constructor(readonly size: number) {
    this.available = size;
  }

  /** Waits for a slot; call the returned function to give it back. */
  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.available++;
    };
  }
}

/**
 * A pool of at most `limit` running tasks that a producer feeds as it goes: `submit` waits while
 * `limit` tasks run and `limit` more wait (backpressure), `drain` waits for all and throws the
 * first failure. Parent pages keep flowing while the children of the previous page finish.
 */
export class TaskPool {
  private running = 0;
  private readonly queue: (() => Promise<void>)[] = [];
  private readonly idle: (() => void)[] = [];
  private readonly space: (() => void)[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async submit(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure.error;
    while (this.running + this.queue.length >= this.limit * 2) await new Promise<void>((resolve) => this.space.push(resolve));
    this.queue.push(task);
    this.pump();
  }

  async drain(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.failure) throw this.failure.error;
  }

  private pump(): void {
    while (this.running < this.limit && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.running++;
      task()
        .catch((error) => {
          this.failure ??= { error };
          this.queue.length = 0;
        })
        .finally(() => {
          this.running--;
          this.space.shift()?.();
          this.pump();
          if (this.running === 0 && this.queue.length === 0) for (const wake of this.idle.splice(0)) wake();
        });
    }
  }
}
