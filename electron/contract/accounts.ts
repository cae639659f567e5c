// Contract domain: Users, roles, sessions, sign-off, amendments and the audit log (issue 5).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const accountCalls = {} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const accountEvents = {} as const satisfies Record<string, z.ZodType>;
