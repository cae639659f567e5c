// Contract domain: Report drafting and questions about the image (issue 5).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const reportingCalls = {} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const reportingEvents = {} as const satisfies Record<string, z.ZodType>;
