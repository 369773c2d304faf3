// Per-host admission: pauses after rate-limit signals, a requests-per-second budget, a connection cap.
import type { Clock } from "../clock.ts";

export interface HostLimits {
  readonly requestsPerSecond?: number | undefined;
  readonly maxConnectionsPerHost?: number | undefined;
}

interface HostState {
  pausedUntil: number;
  nextSlot: number;
  inFlight: number;
  waiting: (() => void)[];
}

/**
 * Every request of a pipeline passes through one gate, so a 429 on one chain pauses the host for
 * all chains and the per-host limits hold across resources.
 */
export class HostGate {
  private readonly hosts = new Map<string, HostState>();

  constructor(
    private readonly limits: HostLimits,
    private readonly clock: Clock,
  ) {}

  /** Waits until a request to `host` may start; call the returned function when it has ended. */
  async acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    const state = this.state(host);
    const cap = this.limits.maxConnectionsPerHost;
    if (cap !== undefined && state.inFlight >= cap) {
      // The releasing request hands its slot over: inFlight stays as it is.
      await new Promise<void>((resolve) => state.waiting.push(resolve));
    } else {
      state.inFlight++;
    }
    try {
      for (;;) {
        const now = this.clock.now();
        const wait = Math.max(state.pausedUntil, state.nextSlot) - now;
        if (wait <= 0) break;
        await this.clock.sleep(wait, signal);
      }
      const rps = this.limits.requestsPerSecond;
      if (rps !== undefined) state.nextSlot = Math.max(this.clock.now(), state.nextSlot) + 1000 / rps;
    } catch (error) {
      this.release(state);
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(state);
    };
  }

  /** No request to `host` starts before `ms` from now. */
  pause(host: string, ms: number): void {
    const state = this.state(host);
    state.pausedUntil = Math.max(state.pausedUntil, this.clock.now() + ms);
  }

  // internal

  private state(host: string): HostState {
    let state = this.hosts.get(host);
    if (!state) {
      state = { pausedUntil: 0, nextSlot: 0, inFlight: 0, waiting: [] };
      this.hosts.set(host, state);
    }
    return state;
  }

  private release(state: HostState): void {
    const next = state.waiting.shift();
    if (next) next();
    else state.inFlight--;
  }
}
