// Must be evaluated before any zod schema is created (so: imported before the contract). zod's objects probe
// `new Function` at construction to decide on a JIT fast path; under our CSP (no 'unsafe-eval') the probe is
// refused and reported as a CSP violation. jitless mode skips the probe.
import { config } from 'zod';

config({ jitless: true });
