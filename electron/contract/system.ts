// Contract domain: Installation and operation: first run, backup and restore, data protection (issue 6).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const systemCalls = {} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const systemEvents = {} as const satisfies Record<string, z.ZodType>;
