// What the station does with a remote archive, whatever the protocol: verify, find studies and instances, retrieve
// a study, store an instance. dimse.ts and dicomweb.ts implement it; the queue and the service use only this.
import { AppError, type ErrorCode } from '../errors';

export interface StudyMatch {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  studyDate: string | null;
  accessionNumber: string | null;
  description: string | null;
  modalities: string[];
  instances: number | null;
}

export interface InstanceMatch {
  sopInstanceUid: string;
  sopClassUid: string | null;
  seriesInstanceUid: string | null;
  modality: string | null;
  seriesDescription: string | null;
  contentDate: string | null;
  contentTime: string | null;
}

export interface StudyFilter {
  patientName?: string;
  patientId?: string;
  accessionNumber?: string;
  /** DICOM range: YYYYMMDD-YYYYMMDD, YYYYMMDD-, -YYYYMMDD or one date */
  studyDate?: string;
  studyInstanceUid?: string;
  limit: number;
}

export interface Archive {
  readonly name: string;
  echo(): Promise<void>;
  findStudies(f: StudyFilter): Promise<StudyMatch[]>;
  /** instances of one study; narrowed to one SOP Instance UID or to modalities when given */
  findInstances(studyInstanceUid: string, f?: { sopInstanceUid?: string; modalities?: string[] }): Promise<InstanceMatch[]>;
  /** every instance of the study as a Part 10 file, one at a time; resolves when the archive says it is done */
  retrieveStudy(studyInstanceUid: string, onInstance: (part10: Uint8Array) => Promise<void>): Promise<{ failed: number }>;
  store(part10: Uint8Array, ids: { sopClassUid: string; sopInstanceUid: string; studyInstanceUid: string }): Promise<void>;
}

/**
 * Why a send did not succeed, and what that means for the queue: `delivery` says whether the archive may hold the
 * instance anyway (the data left but no answer came back), `permanent` whether trying again can help.
 */
export class SendError extends AppError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly delivery: 'not-sent' | 'unknown',
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A person's name for a query: DICOM PN components joined by ^; a bare word matches as a prefix. */
export function namePattern(s: string): string {
  const t = s.trim();
  return /[*?]/.test(t) ? t : `${t}*`;
}

/** A DICOM person name (PN) for display: "DOE^JOHN" -> "DOE^JOHN" (kept), the JSON model's Alphabetic taken. */
export function personName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return personName(v[0]);
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return '';
}
