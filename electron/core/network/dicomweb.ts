// A DICOMweb archive over plain fetch: QIDO-RS to find, WADO-RS to retrieve (multipart/related), STOW-RS to store.
import { randomBytes } from 'node:crypto';
import { SendError, namePattern, personName, type Archive, type InstanceMatch, type StudyFilter, type StudyMatch } from './archive';
import { AppError } from '../errors';

export interface DicomwebEndpoint {
  name: string;
  /** the service root, e.g. http://pacs:8042/dicom-web */
  url: string;
  username?: string | null;
  password?: string | null;
  timeoutMs?: number;
}

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

function first(ds: DicomJson, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}
function str(ds: DicomJson, tag: string): string | null {
  const v = first(ds, tag);
  if (v === undefined || v === null) return null;
  return ds[tag].vr === 'PN' ? personName(v) : String(v);
}

/** Split a multipart/related body into its parts' bodies (RFC 2046), without copying them. */
export function parseMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new AppError('NETWORK_PROTOCOL', `The archive's answer is not multipart (Content-Type: ${contentType}).`);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${m[1]}`);
  const parts: Uint8Array[] = [];
  let at = buf.indexOf(delimiter);
  while (at >= 0) {
    let start = at + delimiter.byteLength;
    if (buf[start] === 0x2d && buf[start + 1] === 0x2d) break; // closing delimiter
    const headerEnd = buf.indexOf('\r\n\r\n', start);
    if (headerEnd < 0) break;
    start = headerEnd + 4;
    const next = buf.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start);
    if (next < 0) throw new AppError('NETWORK_PROTOCOL', 'The archive\'s multipart answer is truncated.');
    parts.push(body.subarray(start, next));
    at = next + 2;
  }
  return parts;
}

export function buildMultipart(parts: Uint8Array[], type = 'application/dicom'): { body: Uint8Array; contentType: string } {
  const boundary = `cxr-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\nContent-Length: ${p.byteLength}\r\n\r\n`));
    chunks.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(chunks)), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}

export class DicomwebArchive implements Archive {
  readonly name: string;
  private readonly base: string;
  constructor(private readonly ep: DicomwebEndpoint) {
    this.name = ep.name;
    this.base = ep.url.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.ep.username) h.Authorization = `Basic ${Buffer.from(`${this.ep.username}:${this.ep.password ?? ''}`).toString('base64')}`;
    return h;
  }

  private async request(path: string, init: { method?: string; accept: string; body?: Uint8Array; contentType?: string }): Promise<Response> {
    const url = `${this.base}${path}`;
    try {
      return await fetch(url, {
        method: init.method ?? 'GET',
        headers: this.headers({ Accept: init.accept, ...(init.contentType ? { 'Content-Type': init.contentType } : {}) }),
        body: init.body as BodyInit | undefined,
        signal: AbortSignal.timeout(this.ep.timeoutMs ?? 60_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      const timeout = (e as Error).name === 'TimeoutError';
      throw Object.assign(new AppError(timeout ? 'NETWORK_TIMEOUT' : 'NETWORK_UNREACHABLE', `${this.ep.name} (${url}): ${timeout ? 'no answer in time' : cause?.code === 'ECONNREFUSED' ? 'connection refused (is the archive running, and the URL right?)' : (cause?.code ?? (e as Error).message)}`, { cause: e }), { refused: cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND' });
    }
  }

  private async failIfBad(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const text = (await res.text().catch(() => '')).slice(0, 300);
    const code = res.status === 401 || res.status === 403 ? 'NETWORK_REFUSED' : 'NETWORK_PROTOCOL';
    throw new AppError(code, `${this.ep.name} answered ${what} with HTTP ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
  }

  private async qido(path: string, params: URLSearchParams): Promise<DicomJson[]> {
    // PN components are separated by '^', which some archives (Orthanc) match only when it is sent as it is.
    const query = [...params].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%5E/gi, '^')}`).join('&');
    const res = await this.request(`${path}?${query}`, { accept: 'application/dicom+json' });
    if (res.status === 204) return [];
    await this.failIfBad(res, 'the query');
    const json = (await res.json()) as unknown;
    if (!Array.isArray(json)) throw new AppError('NETWORK_PROTOCOL', `${this.ep.name} answered the query with something other than a DICOM JSON list.`);
    return json as DicomJson[];
  }

  async echo(): Promise<void> {
    // DICOMweb has no echo: a study query that can match nothing proves the service answers.
    await this.qido('/studies', new URLSearchParams({ StudyInstanceUID: '2.25.0', limit: '1' }));
  }

  async findStudies(f: StudyFilter): Promise<StudyMatch[]> {
    const p = new URLSearchParams();
    if (f.patientName) p.set('PatientName', namePattern(f.patientName));
    if (f.patientId) p.set('PatientID', f.patientId.trim());
    if (f.accessionNumber) p.set('AccessionNumber', f.accessionNumber.trim());
    if (f.studyDate) p.set('StudyDate', f.studyDate);
    if (f.studyInstanceUid) p.set('StudyInstanceUID', f.studyInstanceUid);
    p.set('limit', String(f.limit));
    for (const field of ['StudyDescription', 'ModalitiesInStudy', 'NumberOfStudyRelatedInstances', 'AccessionNumber', 'PatientID', 'PatientName', 'StudyDate']) p.append('includefield', field);
    const rows = await this.qido('/studies', p);
    return rows
      .map((ds) => ({
        studyInstanceUid: str(ds, '0020000D') ?? '',
        patientName: str(ds, '00100010') ?? '',
        patientId: str(ds, '00100020') ?? '',
        studyDate: str(ds, '00080020'),
        accessionNumber: str(ds, '00080050'),
        description: str(ds, '00081030'),
        modalities: (ds['00080061']?.Value ?? []).map(String),
        instances: first(ds, '00201208') !== undefined ? Number(first(ds, '00201208')) : null,
      }))
      .filter((s) => s.studyInstanceUid);
  }

  async findInstances(studyInstanceUid: string, f: { sopInstanceUid?: string; modalities?: string[] } = {}): Promise<InstanceMatch[]> {
    const p = new URLSearchParams();
    if (f.sopInstanceUid) p.set('SOPInstanceUID', f.sopInstanceUid);
    for (const field of ['Modality', 'SeriesDescription', 'ContentDate', 'ContentTime', 'SeriesInstanceUID', 'SOPClassUID']) p.append('includefield', field);
    const rows = await this.qido(`/studies/${encodeURIComponent(studyInstanceUid)}/instances`, p);
    const want = f.modalities?.length ? new Set(f.modalities) : null;
    return rows
      .map((ds) => ({
        sopInstanceUid: str(ds, '00080018') ?? '',
        sopClassUid: str(ds, '00080016'),
        seriesInstanceUid: str(ds, '0020000E'),
        modality: str(ds, '00080060'),
        seriesDescription: str(ds, '0008103E'),
        contentDate: str(ds, '00080023'),
        contentTime: str(ds, '00080033'),
      }))
      .filter((i) => i.sopInstanceUid && (!f.sopInstanceUid || i.sopInstanceUid === f.sopInstanceUid) && (!want || (i.modality !== null && want.has(i.modality))));
  }

  async retrieveStudy(studyInstanceUid: string, onInstance: (part10: Uint8Array) => Promise<void>): Promise<{ failed: number }> {
    // transfer-syntax=* lets the archive send what it holds, unchanged (the import path decodes it).
    const res = await this.request(`/studies/${encodeURIComponent(studyInstanceUid)}`, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' });
    if (res.status === 404) throw new AppError('NOT_FOUND', `${this.ep.name} holds no study ${studyInstanceUid}.`);
    await this.failIfBad(res, 'the retrieve');
    const body = new Uint8Array(await res.arrayBuffer());
    let failed = 0;
    for (const part of parseMultipart(body, res.headers.get('content-type') ?? '')) {
      try {
        await onInstance(part);
      } catch {
        failed++;
      }
    }
    return { failed };
  }

  async store(part10: Uint8Array, ids: { sopClassUid: string; sopInstanceUid: string; studyInstanceUid: string }): Promise<void> {
    const { body, contentType } = buildMultipart([part10]);
    let res: Response;
    try {
      res = await this.request('/studies', { method: 'POST', accept: 'application/dicom+json', body, contentType });
    } catch (e) {
      // Refused before anything was sent, or broken somewhere on the way (the archive may have stored it).
      throw new SendError((e as AppError).code, (e as Error).message, (e as { refused?: boolean }).refused ? 'not-sent' : 'unknown', false, { cause: e });
    }
    const text = await res.text().catch(() => null);
    if (text === null) throw new SendError('NETWORK_UNREACHABLE', `${this.ep.name}: the connection broke while the archive answered the store of ${ids.sopInstanceUid}.`, 'unknown', false);
    let json: DicomJson | null = null;
    try {
      json = text ? (JSON.parse(text) as DicomJson) : null;
    } catch {
      json = null;
    }
    const refs = (json?.['00081199']?.Value ?? []) as DicomJson[];
    const stored = refs.some((r) => str(r, '00081155') === ids.sopInstanceUid);
    if ((res.status === 200 || res.status === 202) && (stored || !json)) return;
    const failedSeq = (json?.['00081198']?.Value ?? []) as DicomJson[];
    const reason = failedSeq.length ? `failure reason ${Number(first(failedSeq[0], '00081197')).toString(16)}` : `HTTP ${res.status} ${res.statusText}`;
    const transient = res.status >= 500 || res.status === 429 || res.status === 503;
    throw new SendError(res.status === 401 || res.status === 403 ? 'NETWORK_REFUSED' : 'NETWORK_PROTOCOL', `${this.ep.name} did not store ${ids.sopInstanceUid}: ${reason}.`, 'not-sent', !transient);
  }
}
