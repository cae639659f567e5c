// A small seeded pseudo-random generator for tests that must replay exactly (fuzzers): the same seed gives the same
// sequence on every machine.

// the station's own seeded generator (mulberry32), so that tests and the code they check draw the same way
export { seededRandom } from '../core/evaluation/metrics';

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
