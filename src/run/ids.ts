// Load ids and row ids.
import { randomBytes } from "node:crypto";

let lastLoadId = "";
/** dlt-style load ids: seconds since the epoch with microseconds, unique within the process. */
export function newLoadId(): string {
  let id = ((performance.timeOrigin + performance.now()) / 1000).toFixed(6);
  while (id <= lastLoadId) id = (Number(lastLoadId) + 0.000001).toFixed(6);
  lastLoadId = id;
  return id;
}

/** Random row ids: 12 random bytes, base64url, drawn from a pool so ids cost little. */
export function idGenerator(): () => string {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 12 > pool.length) {
      pool = randomBytes(12 * 4096);
      offset = 0;
    }
    const id = pool.toString("base64url", offset, offset + 12);
    offset += 12;
    return id;
  };
}

/**
 * A unit's load ids, one per checkpoint: `current` stamps the rows staged now, `next()` moves on
 * once a checkpoint has committed. Shared by the unit's normalisers and its writer.
 *
 * @example
 * const ids = new LoadIds(); ids.current; // "1718000000.000001"
 * ids.next(); ids.checkpoint;              // 2
 */
export class LoadIds {
  private id = newLoadId();
  private number = 1;

  /** The load id of the checkpoint in progress. */
  get current(): string {
    return this.id;
  }

  /** 1 for the unit's first checkpoint (its only one when it commits once). */
  get checkpoint(): number {
    return this.number;
  }

  /** The next checkpoint starts: a new load id. */
  next(): string {
    this.id = newLoadId();
    this.number++;
    return this.id;
  }
}
