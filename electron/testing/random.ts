// A small seeded pseudo-random generator for tests that must replay exactly (fuzzers): the same seed gives the same
// sequence on every machine.

/** mulberry32: 32-bit state, good enough spread for test inputs; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Helpers over one generator: an integer below n, one element of a list, a chance. */
export function picker(r: () => number) {
  const int = (n: number) => Math.floor(r() * n);
  return {
    int,
    one: <T>(xs: readonly T[]): T => xs[int(xs.length)],
    chance: (p: number) => r() < p,
    bytes: (n: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}
