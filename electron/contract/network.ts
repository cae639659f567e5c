// Contract domain: DICOM networking: the receiver, remote archives, the outgoing queue (issue 7).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const networkCalls = {} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const networkEvents = {} as const satisfies Record<string, z.ZodType>;
