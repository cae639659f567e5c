// A DIMSE archive (C-ECHO, C-FIND, C-GET or C-MOVE, C-STORE) through dcmjs-dimse: one association per operation,
// with timeouts, so that a dead archive costs seconds, not a hung queue.
import { createRequire } from 'node:module';
import { SendError, namePattern, personName, type Archive, type InstanceMatch, type StudyFilter, type StudyMatch } from './archive';
import { AppError } from '../errors';
import { part10FromDataset } from './dicom';

const require = createRequire(import.meta.url);
type Dimse = typeof import('dcmjs-dimse');
export const dimse = require('dcmjs-dimse') as Dimse;
dimse.log.setLevel('silent');

const { Client, Dataset } = dimse;
const { CEchoRequest, CFindRequest, CGetRequest, CMoveRequest, CStoreRequest } = dimse.requests;
const { Status } = dimse.constants;

export interface DimseEndpoint {
  name: string;
  host: string;
  port: number;
  /** the archive's AE title */
  aeTitle: string;
  /** this station's AE title */
  callingAeTitle: string;
  retrieve: 'C-GET' | 'C-MOVE';
  timeoutMs?: number;
}

type AnyRequest = InstanceType<Dimse['requests']['CEchoRequest']> | InstanceType<Dimse['requests']['CFindRequest']> | InstanceType<Dimse['requests']['CStoreRequest']> | InstanceType<Dimse['requests']['CGetRequest']> | InstanceType<Dimse['requests']['CMoveRequest']>;
type AnyResponse = { getStatus(): number; hasDataset?(): boolean; getDataset(): InstanceType<Dimse['Dataset']> | undefined; getErrorComment?(): string | undefined; getFailures?(): number };

interface Outcome {
  responses: AnyResponse[];
  /** the association was accepted (the request may have reached the archive) */
  associated: boolean;
}

const STATUS_WORDS: Record<number, string> = {
  0xa700: 'out of resources',
  0xa900: 'the data set does not match the SOP class',
  0xc000: 'the archive cannot understand it',
  0x0122: 'the SOP class is not supported',
  0x0124: 'not authorised',
  0x0211: 'unrecognised operation',
  0xa801: 'move destination unknown (the archive does not know this station\'s AE title)',
};

export function statusText(status: number): string {
  const hex = `0x${status.toString(16).padStart(4, '0').toUpperCase()}`;
  const word = STATUS_WORDS[status] ?? STATUS_WORDS[status & 0xff00];
  return word ? `${hex} (${word})` : hex;
}

function isWarning(status: number): boolean {
  return status === 0x0001 || (status & 0xf000) === 0xb000;
}

export class DimseArchive implements Archive {
  readonly name: string;
  constructor(private readonly ep: DimseEndpoint) {
    this.name = ep.name;
  }

  private where(): string {
    return `${this.ep.name} (${this.ep.aeTitle} at ${this.ep.host}:${this.ep.port})`;
  }

  /** Run requests on one association; resolves with every response once the association is closed. */
  private run(requests: AnyRequest[], setup?: (client: InstanceType<Dimse['Client']>) => void): Promise<Outcome> {
    const t = this.ep.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const client = new Client();
      const responses: AnyResponse[] = [];
      let associated = false;
      let failure: AppError | null = null;
      for (const r of requests) {
        r.on('response', (res: AnyResponse) => responses.push(res));
        client.addRequest(r);
      }
      setup?.(client);
      client.on('associationAccepted', () => {
        associated = true;
      });
      client.on('associationRejected', (reject: { result: number; source: number; reason: number }) => {
        failure = new AppError('NETWORK_REFUSED', `${this.where()} refused the association (result ${reject?.result}, source ${reject?.source}, reason ${reject?.reason}): check that it knows this station's AE title ${this.ep.callingAeTitle}.`);
      });
      client.on('networkError', (e: Error) => {
        const code = (e as NodeJS.ErrnoException).code;
        const msg = code === 'ECONNREFUSED' ? 'connection refused (is the archive running, and the port right?)' : e.message || String(e);
        failure ??= new AppError(/timeout|timed out/i.test(msg) ? 'NETWORK_TIMEOUT' : 'NETWORK_UNREACHABLE', `${this.where()}: ${msg}`, { cause: e });
      });
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(hard);
        if (failure) reject(Object.assign(failure, { associated }));
        else resolve({ responses, associated });
      };
      client.on('closed', finish);
      // A broken connection does not always end in 'closed': settle shortly after the error in any case.
      client.on('networkError', () => setTimeout(finish, 100).unref());
      // And never wait forever on an archive that stopped talking in the middle of an exchange.
      const hard = setTimeout(() => {
        failure ??= new AppError('NETWORK_TIMEOUT', `${this.where()} stopped answering (no reply in ${Math.round((2 * t) / 1000)} s).`);
        try {
          client.abort();
        } catch {
          // the association is already gone
        }
        finish();
      }, 2 * t);
      hard.unref();
      client.send(this.ep.host, this.ep.port, this.ep.callingAeTitle, this.ep.aeTitle, { connectTimeout: Math.min(t, 10_000), associationTimeout: t, pduTimeout: t });
    });
  }

  async echo(): Promise<void> {
    const { responses } = await this.run([new CEchoRequest()]);
    const status = responses[0]?.getStatus();
    if (status !== Status.Success) throw new AppError('NETWORK_PROTOCOL', `${this.where()} answered C-ECHO with ${status === undefined ? 'nothing' : statusText(status)}.`);
  }

  private async find(request: InstanceType<Dimse['requests']['CFindRequest']>, what: string): Promise<Record<string, unknown>[]> {
    const { responses } = await this.run([request]);
    const last = responses[responses.length - 1];
    const status = last?.getStatus();
    if (status !== Status.Success && status !== Status.Cancel) throw new AppError('NETWORK_PROTOCOL', `${this.where()} answered the ${what} query with ${status === undefined ? 'nothing' : statusText(status)}.`);
    return responses.filter((r) => r.getStatus() === Status.Pending && r.getDataset()).map((r) => r.getDataset()!.getElements());
  }

  async findStudies(f: StudyFilter): Promise<StudyMatch[]> {
    const keys: Record<string, unknown> = {};
    if (f.patientName) keys.PatientName = namePattern(f.patientName);
    if (f.patientId) keys.PatientID = f.patientId.trim();
    if (f.accessionNumber) keys.AccessionNumber = f.accessionNumber.trim();
    if (f.studyDate) keys.StudyDate = f.studyDate;
    if (f.studyInstanceUid) keys.StudyInstanceUID = f.studyInstanceUid;
    const rows = await this.find(CFindRequest.createStudyFindRequest(keys), 'study');
    return rows.slice(0, f.limit).map((e) => ({
      studyInstanceUid: String(e.StudyInstanceUID ?? ''),
      patientName: personName(e.PatientName),
      patientId: String(e.PatientID ?? ''),
      studyDate: (e.StudyDate as string) || null,
      accessionNumber: (e.AccessionNumber as string) || null,
      description: (e.StudyDescription as string) || null,
      modalities: toList(e.ModalitiesInStudy),
      instances: e.NumberOfStudyRelatedInstances !== undefined && e.NumberOfStudyRelatedInstances !== '' ? Number(e.NumberOfStudyRelatedInstances) : null,
    })).filter((s) => s.studyInstanceUid);
  }

  async findInstances(studyInstanceUid: string, f: { sopInstanceUid?: string; modalities?: string[] } = {}): Promise<InstanceMatch[]> {
    // IMAGE level under the study root: Modality is a series attribute, which C-FIND returns at this level too.
    const keys: Record<string, unknown> = {
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: '',
      SOPInstanceUID: f.sopInstanceUid ?? '',
      SOPClassUID: '',
      Modality: '',
      SeriesDescription: '',
      ContentDate: '',
      ContentTime: '',
    };
    const rows = await this.find(CFindRequest.createImageFindRequest(keys), 'instance');
    const want = f.modalities?.length ? new Set(f.modalities) : null;
    return rows
      .map((e) => ({
        sopInstanceUid: String(e.SOPInstanceUID ?? ''),
        sopClassUid: (e.SOPClassUID as string) || null,
        seriesInstanceUid: (e.SeriesInstanceUID as string) || null,
        modality: (e.Modality as string) || null,
        seriesDescription: (e.SeriesDescription as string) || null,
        contentDate: (e.ContentDate as string) || null,
        contentTime: (e.ContentTime as string) || null,
      }))
      .filter((i) => i.sopInstanceUid && (!f.sopInstanceUid || i.sopInstanceUid === f.sopInstanceUid) && (!want || (i.modality !== null && want.has(i.modality))));
  }

  async retrieveStudy(studyInstanceUid: string, onInstance: (part10: Uint8Array) => Promise<void>): Promise<{ failed: number }> {
    if (this.ep.retrieve === 'C-MOVE') return this.move(studyInstanceUid);
    // C-GET: the archive sends each instance back on our own association; we answer each C-STORE once it is imported.
    const request = CGetRequest.createStudyGetRequest(studyInstanceUid);
    const { responses } = await this.run([request], (client) => {
      client.on('cStoreRequest', async (req: InstanceType<Dimse['requests']['CStoreRequest']>, callback: (r: unknown) => void) => {
        const res = dimse.responses.CStoreResponse.fromRequest(req);
        try {
          const ds = req.getDataset()!;
          const bytes = part10FromDataset(new Uint8Array(ds.getDenaturalizedDataset()), {
            sopClassUid: req.getAffectedSopClassUid(),
            sopInstanceUid: req.getAffectedSopInstanceUid(),
            transferSyntaxUid: ds.getTransferSyntaxUid(),
            sourceAeTitle: this.ep.aeTitle,
          });
          await onInstance(bytes);
          res.setStatus(Status.Success);
        } catch {
          // The import said why (recorded by the caller); the archive is told the instance was not taken.
          res.setStatus(Status.ProcessingFailure);
        }
        callback(res);
      });
    });
    return this.retrieveOutcome(responses, 'C-GET');
  }

  private async move(studyInstanceUid: string): Promise<{ failed: number }> {
    // C-MOVE: the archive opens its own association to this station's receiver (it must know our AE title, host
    // and port); the instances arrive through the receiver and its import path.
    const { responses } = await this.run([CMoveRequest.createStudyMoveRequest(this.ep.callingAeTitle, studyInstanceUid)]);
    return this.retrieveOutcome(responses, 'C-MOVE');
  }

  private retrieveOutcome(responses: AnyResponse[], op: string): { failed: number } {
    const last = responses[responses.length - 1];
    const status = last?.getStatus();
    if (status === undefined) throw new AppError('NETWORK_PROTOCOL', `${this.where()} gave no answer to ${op}.`);
    const failed = last.getFailures?.() ?? 0;
    if (status !== Status.Success && !isWarning(status)) throw new AppError('NETWORK_PROTOCOL', `${this.where()} answered ${op} with ${statusText(status)}${last.getErrorComment?.() ? `: ${last.getErrorComment?.()}` : ''}.`);
    return { failed };
  }

  async store(part10: Uint8Array, ids: { sopClassUid: string; sopInstanceUid: string }): Promise<void> {
    let dataset: InstanceType<Dimse['Dataset']>;
    try {
      dataset = (Dataset as unknown as { _fromP10Buffer(b: Buffer, o?: object): InstanceType<Dimse['Dataset']> })._fromP10Buffer(Buffer.from(part10.buffer, part10.byteOffset, part10.byteLength));
    } catch (e) {
      throw new SendError('DICOM_CORRUPT', `The instance ${ids.sopInstanceUid} is not a readable DICOM file: ${(e as Error).message}`, 'not-sent', true, { cause: e });
    }
    let outcome: Outcome;
    try {
      outcome = await this.run([new CStoreRequest(dataset)]);
    } catch (e) {
      const err = e as AppError & { associated?: boolean };
      // Once the association is up, the data may have reached the archive before the connection broke.
      throw new SendError(err.code ?? 'NETWORK_UNREACHABLE', err.message, err.associated ? 'unknown' : 'not-sent', false, { cause: e });
    }
    const res = outcome.responses[0];
    if (!res) throw new SendError('NETWORK_PROTOCOL', `${this.where()} closed the association without answering the C-STORE of ${ids.sopInstanceUid}.`, outcome.associated ? 'unknown' : 'not-sent', false);
    const status = res.getStatus();
    if (status === Status.Success || isWarning(status)) return;
    const comment = res.getErrorComment?.();
    const transient = (status & 0xff00) === 0xa700 || status === 0x0213;
    throw new SendError('NETWORK_REFUSED', `${this.where()} refused the instance ${ids.sopInstanceUid} with status ${statusText(status)}${comment ? `: ${comment}` : ''}.`, 'not-sent', !transient);
  }
}

function toList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  if (typeof v === 'string' && v) return v.split('\\').filter(Boolean);
  return [];
}
