// Contract domain: Reviewing and correcting the AI findings on the canvas (issue 4): findings, masks, versions.
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const annotationCalls = {} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const annotationEvents = {} as const satisfies Record<string, z.ZodType>;
