// Contract domain: PDF, DICOM SR, DICOM SEG and JSON exports of a case (issue 5).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const exportCalls = {} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const exportEvents = {} as const satisfies Record<string, z.ZodType>;
