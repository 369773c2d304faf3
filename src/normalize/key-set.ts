// Whether a merge load has seen a primary key before, in 8–16 bytes per key: a Set of 500,000
// numbers took ~47 MB of a run's peak memory, this takes 8 MB.
//
// Integer keys are kept exactly. Other keys (text, composite, big integers) are kept as a 52-bit
// hash of their text, so two different keys may, very rarely, look the same. That errs one way
// only: the load then takes its path for repeated keys, which compares the real values in DuckDB.
// A key seen twice is never missed.

const empty = Number.NaN;

export class KeySet {
  private slots = new Float64Array(1024).fill(empty);
  private size = 0;

  /** Records `key`; true when it was recorded before (or a different key shares its hash). */
  seen(key: unknown): boolean {
    const value =
      typeof key === "number" && Number.isSafeInteger(key) ? key + 0 : hashText(typeof key === "string" ? `s${key}` : `j${String(key)}`);
    if (this.size * 2 >= this.slots.length) this.grow();
    return this.insert(value);
  }

  private insert(value: number): boolean {
    const mask = this.slots.length - 1;
    for (let slot = mix(value) & mask; ; slot = (slot + 1) & mask) {
      const current = this.slots[slot]!;
      if (current === value) return true;
      if (Number.isNaN(current)) {
        this.slots[slot] = value;
        this.size++;
        return false;
      }
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2).fill(empty);
    this.size = 0;
    for (const value of old) if (!Number.isNaN(value)) this.insert(value);
  }
}

/** A slot index for an integer-valued double (its low and high 32 bits, mixed). */
function mix(value: number): number {
  const low = (value % 4294967296) | 0;
  const high = Math.floor(value / 4294967296) | 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 52-bit hash of text (two 32-bit FNV-1a lanes with different seeds, combined). */
function hashText(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Negative, from -2^52 to -1: clear of the usual (positive) integer keys.
  return -(((a >>> 0) % 1048576) * 4294967296 + (b >>> 0)) - 1;
}
