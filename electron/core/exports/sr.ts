// DICOM Comprehensive SR following TID 1500 (Measurement Report) for the AI reading and the reader's findings:
// observer context (the model as a device, the reader as a person), the procedure, an image library naming the
// source radiograph, one TID 1501 group for the TB score (with the model's Algorithm Identification, TID 4019, and
// its operating threshold) and one TID 1410 planar ROI group per finding: its box as a closed POLYLINE SCOORD
// selected from the source image, its label, its detection score, and who proposed, accepted or changed it.
// Codes this station defines itself (model labels, review states) use the local scheme 99CXRWS, declared in the
// Coding Scheme Identification Sequence, so no reader mistakes them for standard codes.
import type { Finding } from '../../contract/annotations';
import { AppError } from '../errors';
import {
  code, dateTimeParts, equipment, LOCAL_SCHEME, LOCAL_SCHEME_IDENTIFICATION, newUid, patientAndStudy, personName, SOP_CLASS, sopCommon, text, uidFromText, writePart10,
  type CodeItem, type Naturalized,
} from './dicom';
import { verifiedSignature, type ExportInput } from './types';

export const SR_SERIES_NUMBER = 900;

type Rel = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'SELECTED FROM' | 'INFERRED FROM';

const local = (value: string, meaning: string) => code(value, LOCAL_SCHEME, meaning);

const CODES = {
  measurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  english: code('en-US', 'RFC5646', 'English (United States)'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  person: code('121006', 'DCM', 'Person'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  personObserverName: code('121008', 'DCM', 'Person Observer Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  chestXray: code('399208008', 'SCT', 'Plain chest X-ray'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  imageRegion: code('111030', 'DCM', 'Image Region'),
  area: code('42798000', 'SCT', 'Area'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  algorithmParameter: code('111002', 'DCM', 'Algorithm Parameters'),
  yes: code('373066001', 'SCT', 'Yes'),
  no: code('373067005', 'SCT', 'No'),
  mm2: code('mm2', 'UCUM', 'square millimeter'),
  percent: code('%', 'UCUM', 'Percent'),
  noUnits: code('1', 'UCUM', 'no units'),
  tbScore: local('TB_SCORE', 'Tuberculosis score (100 x model probability of TB)'),
  aboveThreshold: local('ABOVE_THRESHOLD', 'At or above the operating threshold'),
  modelClass: local('MODEL_CLASS', 'Model classification'),
  detectionScore: local('DETECTION_SCORE', 'Detection score'),
  findingSource: local('FINDING_SOURCE', 'Finding source'),
  fromModel: local('MODEL', 'Proposed by the AI model'),
  fromReader: local('READER', 'Drawn by a reader'),
  reviewState: local('REVIEW_STATE', 'Reader review state'),
  changedBy: local('CHANGED_BY', 'Last changed by'),
  modelProposal: local('MODEL_PROPOSAL', 'Model proposal before the reader edited it'),
};

const REVIEW_STATES: Record<Finding['state'], CodeItem> = {
  proposed: local('PROPOSED', 'Proposed, not yet reviewed'),
  accepted: local('ACCEPTED', 'Accepted by the reader'),
  edited: local('EDITED', 'Edited by the reader'),
  added: local('ADDED', 'Added by the reader'),
  rejected: local('REJECTED', 'Rejected by the reader'),
};

/** The local code of a finding label: the model's TBX11K categories by name, any other label as written. */
export function findingCode(label: string): CodeItem {
  if (label === 'ActiveTuberculosis') return local('ACTIVE_TB', 'Active tuberculosis lesion');
  if (label === 'ObsoletePulmonaryTuberculosis') return local('OBSOLETE_TB', 'Obsolete pulmonary tuberculosis lesion');
  return local(label.toUpperCase().replace(/[^A-Z0-9]+/g, '_').slice(0, 16) || 'FINDING', text(label, 64));
}

// ---- content items ---------------------------------------------------------------------------------------------

function item(rel: Rel | null, valueType: string, name: CodeItem | null, fields: Naturalized, children: Naturalized[] = []): Naturalized {
  const it: Naturalized = { ValueType: valueType, ...fields };
  if (rel) it.RelationshipType = rel;
  if (name) it.ConceptNameCodeSequence = [name];
  if (children.length) it.ContentSequence = children;
  return it;
}
const container = (rel: Rel, name: CodeItem, children: Naturalized[], extra: Naturalized = {}) => item(rel, 'CONTAINER', name, { ContinuityOfContent: 'SEPARATE', ...extra }, children);
const codeItem = (rel: Rel, name: CodeItem, value: CodeItem, children: Naturalized[] = []) => item(rel, 'CODE', name, { ConceptCodeSequence: [value] }, children);
const textItem = (rel: Rel, name: CodeItem, value: string) => item(rel, 'TEXT', name, { TextValue: text(value, 10240) || '-' });
const uidItem = (rel: Rel, name: CodeItem, value: string) => item(rel, 'UIDREF', name, { UID: value });
const pnameItem = (rel: Rel, name: CodeItem, value: string) => item(rel, 'PNAME', name, { PersonName: personName(value) || [{ Alphabetic: 'Unknown' }] });
function numItem(rel: Rel, name: CodeItem, value: number, unit: CodeItem, children: Naturalized[] = []): Naturalized {
  // NumericValue is a DS: at most 16 characters.
  const ds = Number(value.toPrecision(10)).toString().slice(0, 16);
  return item(rel, 'NUM', name, { MeasuredValueSequence: [{ NumericValue: ds, MeasurementUnitsCodeSequence: [unit] }] }, children);
}

function algorithmIdentification(model: { name: string; version: string }, parameters: string[] = []): Naturalized[] {
  return [
    textItem('HAS CONCEPT MOD', CODES.algorithmName, model.name),
    textItem('HAS CONCEPT MOD', CODES.algorithmVersion, model.version),
    ...parameters.map((p) => textItem('HAS CONCEPT MOD', CODES.algorithmParameter, p)),
  ];
}

/** A box as a closed polyline in image pixel coordinates (column, row; 0\0 is the top-left corner of the top-left pixel). */
export function boxPolyline(f: { x: number; y: number; w: number; h: number }): number[] {
  const x0 = f.x;
  const y0 = f.y;
  const x1 = f.x + f.w;
  const y1 = f.y + f.h;
  return [x0, y0, x1, y0, x1, y1, x0, y1, x0, y0];
}

/** The findings an SR reports: every finding but those the reader rejected (those stay in the JSON export). */
export function reportedFindings(input: ExportInput): Finding[] {
  return input.annotations.findings.filter((f) => f.state !== 'rejected');
}

export function buildSr(input: ExportInput, uids: { series?: string; instance?: string } = {}): Uint8Array {
  const seriesUid = uids.series ?? newUid();
  const sopUid = uids.instance ?? newUid();
  const t = dateTimeParts(input.generatedAt);
  const src = input.source;
  const sourceRef = { ReferencedSOPClassUID: src.sopClassUid, ReferencedSOPInstanceUID: src.sopInstanceUid };
  const a = input.analysis;
  const signed = verifiedSignature(input.signature);

  // Observer context (TID 1001): the model as a device, then the reader as a person.
  const observers: Naturalized[] = [];
  if (a) {
    observers.push(
      codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
      uidItem('HAS OBS CONTEXT', CODES.deviceObserverUid, uidFromText(`cxr-model:${a.model.name}:${a.model.version}:${a.model.sha256}`)),
      textItem('HAS OBS CONTEXT', CODES.deviceObserverName, a.model.name),
      textItem('HAS OBS CONTEXT', CODES.deviceObserverModelName, `${a.model.name} ${a.model.version}`),
    );
  }
  const reader = signed?.signerName ?? input.annotations.author;
  if (reader) observers.push(codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.person), pnameItem('HAS OBS CONTEXT', CODES.personObserverName, reader));
  if (!observers.length) {
    // Neither a model reading nor a reader's save: the station itself is the observer.
    observers.push(
      codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
      uidItem('HAS OBS CONTEXT', CODES.deviceObserverUid, uidFromText(`cxr-station:${input.station.deviceSerialNumber}`)),
      textItem('HAS OBS CONTEXT', CODES.deviceObserverName, input.station.modelName),
    );
  }

  const groups: Naturalized[] = [];
  if (a) {
    const params = a.threshold !== null ? [`operating threshold ${a.threshold} (TB score; ${a.thresholdOrigin ?? 'pack default'})`] : [];
    if (a.siteHead !== null) params.push(`TB score by site head ${a.siteHead} (logistic regression over the model's embedding, fitted at this site); the model's own TB score ${a.baseTbScore}`);
    const evaluations: Naturalized[] = [
      codeItem('CONTAINS', CODES.modelClass, local(a.label.toUpperCase().replace(/[^A-Z0-9]+/g, '_').slice(0, 16) || 'UNKNOWN', text(a.label, 64))),
    ];
    if (a.threshold !== null) evaluations.push(codeItem('CONTAINS', CODES.aboveThreshold, a.flagged ? CODES.yes : CODES.no));
    groups.push(
      container('CONTAINS', CODES.measurementGroup, [
        textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, 'TB score'),
        uidItem('HAS OBS CONTEXT', CODES.trackingUid, uidFromText(`cxr-tb-score:${src.sopInstanceUid}:${a.analysisId}`)),
        numItem('CONTAINS', CODES.tbScore, a.tbScore, CODES.percent, algorithmIdentification(a.model, params)),
        ...evaluations,
      ], { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1501' }] }),
    );
  }
  for (const f of reportedFindings(input)) groups.push(findingGroup(input, f, sourceRef));
  if (!groups.length) {
    // TID 1500 needs at least one measurement group; with no AI reading and no finding there is nothing to report.
    throw new AppError('EXPORT_NOTHING', 'This image has neither an AI reading nor a finding, so there is nothing to put in a DICOM SR measurement report.');
  }

  const root = item(null, 'CONTAINER', CODES.measurementReport, {
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
  }, [
    codeItem('HAS CONCEPT MOD', CODES.language, CODES.english),
    ...observers,
    codeItem('HAS CONCEPT MOD', CODES.procedureReported, CODES.chestXray),
    container('CONTAINS', CODES.imageLibrary, [container('CONTAINS', CODES.imageLibraryGroup, [item('CONTAINS', 'IMAGE', null, { ReferencedSOPSequence: [sourceRef] })])]),
    container('CONTAINS', CODES.imagingMeasurements, groups),
  ]);

  const ds: Naturalized = {
    ...sopCommon(SOP_CLASS.comprehensiveSr, sopUid, input.generatedAt),
    ...patientAndStudy(input),
    ...equipment(input),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: seriesUid,
    SeriesNumber: SR_SERIES_NUMBER,
    SeriesDescription: 'AI chest X-ray reading (TID 1500)',
    SeriesDate: t.date,
    SeriesTime: t.time,
    ReferencedPerformedProcedureStepSequence: [],
    // SR Document General
    InstanceNumber: 1,
    CompletionFlag: signed ? 'COMPLETE' : 'PARTIAL',
    VerificationFlag: signed ? 'VERIFIED' : 'UNVERIFIED',
    ContentDate: t.date,
    ContentTime: t.time,
    PerformedProcedureCodeSequence: [CODES.chestXray],
    CurrentRequestedProcedureEvidenceSequence: [
      { StudyInstanceUID: input.study.studyInstanceUid, ReferencedSeriesSequence: [{ SeriesInstanceUID: src.seriesInstanceUid, ReferencedSOPSequence: [sourceRef] }] },
    ],
    ...root,
    CodingSchemeIdentificationSequence: [LOCAL_SCHEME_IDENTIFICATION],
  };
  if (signed) {
    ds.VerifyingObserverSequence = [
      {
        VerifyingObserverName: personName(signed.signerName) || [{ Alphabetic: 'Unknown' }],
        VerifyingObserverIdentificationCodeSequence: [],
        VerifyingOrganization: text(input.source.institutionName ?? input.station.modelName, 64),
        VerificationDateTime: dateTimeParts(signed.signedAt).dateTime,
      },
    ];
  }
  return writePart10(ds);
}

function findingGroup(input: ExportInput, f: Finding, sourceRef: Naturalized): Naturalized {
  const children: Naturalized[] = [
    textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, f.id),
    uidItem('HAS OBS CONTEXT', CODES.trackingUid, uidFromText(`cxr-finding:${input.source.sopInstanceUid}:${f.id}`)),
    codeItem('CONTAINS', CODES.finding, findingCode(f.label)),
    item('CONTAINS', 'SCOORD', CODES.imageRegion, { GraphicType: 'POLYLINE', GraphicData: boxPolyline(f) }, [item('SELECTED FROM', 'IMAGE', null, { ReferencedSOPSequence: [sourceRef] })]),
  ];
  const spacing = input.image.pixelSpacing;
  if (spacing) children.push(numItem('CONTAINS', CODES.area, f.w * f.h * spacing[0] * spacing[1], CODES.mm2));
  const model = f.provenance.model;
  if (f.provenance.source === 'ai' && f.aiOriginal && model) {
    // The detection score is the model's, of its own box: it stays the model's even after the reader moved the box.
    children.push(numItem('CONTAINS', CODES.detectionScore, f.aiOriginal.score, CODES.noUnits, algorithmIdentification(model)));
  }
  children.push(
    codeItem('CONTAINS', CODES.findingSource, f.provenance.source === 'ai' ? CODES.fromModel : CODES.fromReader),
    codeItem('CONTAINS', CODES.reviewState, REVIEW_STATES[f.state]),
  );
  const by = f.provenance.changedBy ?? f.provenance.author;
  if (by) children.push(textItem('CONTAINS', CODES.changedBy, f.provenance.changedAt ? `${by} at ${f.provenance.changedAt}` : by));
  if (f.state === 'edited' && f.aiOriginal) {
    const o = f.aiOriginal;
    children.push(textItem('CONTAINS', CODES.modelProposal, `${o.label} box x ${r1(o.x)}, y ${r1(o.y)}, width ${r1(o.w)}, height ${r1(o.h)} (pixels), score ${o.score}`));
  }
  return container('CONTAINS', CODES.measurementGroup, children, { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1410' }] });
}

const r1 = (v: number) => Math.round(v * 10) / 10;
