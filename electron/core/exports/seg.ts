// DICOM Segmentation (binary) of a case's masks: one segment per mask label, one frame per segment, in a new series
// of the source image's study. A chest radiograph is a projection: it has no patient-space geometry to place frames
// in, so the frames refer to the source image through the Derivation Image functional group (shared by all frames)
// and the Common Instance Reference module, rather than through a Frame of Reference with plane positions; the
// dimension index is the segment number.
import { AppError } from '../errors';
import {
  code, dateTimeParts, equipment, newUid, patientAndStudy, personName, SOP_CLASS, sopCommon, text, writePart10,
  type CodeItem, type Naturalized,
} from './dicom';
import type { ExportInput, ExportMask, SegmentAlgorithmType } from './types';

export const SEG_SERIES_NUMBER = 901;

/** The segmented property of each mask label (SNOMED CT, as in CID 7150/7151 and the DICOM SEG examples). */
const SEGMENT_PROPERTIES: Record<ExportMask['label'], { label: string; category: CodeItem; type: CodeItem; region?: CodeItem; lab: [number, number, number] }> = {
  right_lung: {
    label: 'Right lung',
    category: code('123037004', 'SCT', 'Anatomical Structure'),
    type: code('3341006', 'SCT', 'Right lung'),
    lab: [45000, 43000, 30000],
  },
  left_lung: {
    label: 'Left lung',
    category: code('123037004', 'SCT', 'Anatomical Structure'),
    type: code('44029006', 'SCT', 'Left lung'),
    lab: [45000, 20000, 50000],
  },
  lesion: {
    label: 'Lesion',
    category: code('49755003', 'SCT', 'Morphologically Altered Structure'),
    type: code('52988006', 'SCT', 'Lesion'),
    region: code('39607008', 'SCT', 'Lung'),
    lab: [30000, 60000, 50000],
  },
};

const LABEL_ORDER: ExportMask['label'][] = ['right_lung', 'left_lung', 'lesion'];

export interface Segment {
  number: number;
  label: ExportMask['label'];
  algorithmType: SegmentAlgorithmType;
  /** one byte per pixel, 0 or 1 */
  pixels: Uint8Array;
  maskIds: string[];
}

/** The algorithm type of a segment merged from several masks of one label: all alike keep theirs, a mix is SEMIAUTOMATIC. */
export function mergedAlgorithmType(types: SegmentAlgorithmType[]): SegmentAlgorithmType {
  return types.every((t) => t === types[0]) ? types[0] : 'SEMIAUTOMATIC';
}

export function unpackMask(m: { width: number; height: number; packed: Uint8Array }, into?: Uint8Array): Uint8Array {
  const n = m.width * m.height;
  const out = into ?? new Uint8Array(n);
  for (let i = 0; i < n; i++) if (m.packed[i >> 3] & (0x80 >> (i & 7))) out[i] = 1;
  return out;
}

/** Masks grouped by label into segments, in a fixed order (right lung, left lung, lesion); empty masks are skipped. */
export function segmentsOf(masks: ExportMask[], rows: number, columns: number): Segment[] {
  const segments: Segment[] = [];
  for (const label of LABEL_ORDER) {
    const ms = masks.filter((m) => m.label === label);
    if (!ms.length) continue;
    const pixels = new Uint8Array(rows * columns);
    for (const m of ms) {
      if (m.width !== columns || m.height !== rows) {
        throw new AppError('EXPORT_FAILED', `Mask ${m.id} is ${m.width} x ${m.height} but the image is ${columns} x ${rows}; it cannot be exported as a segmentation of this image.`);
      }
      unpackMask(m, pixels);
    }
    if (!pixels.some((v) => v === 1)) continue;
    segments.push({ number: segments.length + 1, label, algorithmType: mergedAlgorithmType(ms.map((m) => m.algorithmType)), pixels, maskIds: ms.map((m) => m.id) });
  }
  return segments;
}

/** Frames packed one bit a pixel, first pixel in the least significant bit, frames following each other bit for bit (PS3.5 8.1.1). */
export function packFramesLsbFirst(frames: Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const bytes = Math.ceil(total / 8);
  const out = new Uint8Array(bytes + (bytes % 2)); // even length
  let bit = 0;
  for (const f of frames) {
    for (let i = 0; i < f.length; i++, bit++) if (f[i]) out[bit >> 3] |= 1 << (bit & 7);
  }
  return out;
}

const REFERENCED_SEGMENT_NUMBER = 0x0062000b;
const SEGMENT_IDENTIFICATION_SEQUENCE = 0x0062000a;

/** Build the SEG. Throws EXPORT_NOTHING when the case has no mask to export. */
export function buildSeg(input: ExportInput, uids: { series?: string; instance?: string } = {}): Uint8Array {
  const { rows, columns } = input.image;
  const segments = segmentsOf(input.masks, rows, columns);
  if (!segments.length) {
    throw new AppError('EXPORT_NOTHING', 'This case has no lung or lesion mask to export as a DICOM segmentation (no model outline and no drawn mask).');
  }
  const seriesUid = uids.series ?? newUid();
  const sopUid = uids.instance ?? newUid();
  const t = dateTimeParts(input.generatedAt);
  const src = input.source;
  const model = input.analysis?.model;
  const dimensionOrganizationUid = newUid();
  const sourceRef = { ReferencedSOPClassUID: src.sopClassUid, ReferencedSOPInstanceUID: src.sopInstanceUid };

  const ds: Naturalized = {
    ...sopCommon(SOP_CLASS.segmentation, sopUid, input.generatedAt),
    ...patientAndStudy(input),
    ...equipment(input),
    // Segmentation Series
    Modality: 'SEG',
    SeriesInstanceUID: seriesUid,
    SeriesNumber: SEG_SERIES_NUMBER,
    SeriesDescription: 'Lung and lesion segmentation',
    SeriesDate: t.date,
    SeriesTime: t.time,
    // General Image / Segmentation Image
    InstanceNumber: 1,
    ContentDate: t.date,
    ContentTime: t.time,
    ImageType: ['DERIVED', 'PRIMARY'],
    // The frames lie exactly on the source image, so they share its orientation.
    PatientOrientation: orientation(src.patientOrientation),
    ContentLabel: 'CXR_SEGMENTATION',
    ContentDescription: text(`Lungs and lesions of ${src.fileName}`, 64),
    // The reader who saved the masks; none when they are the model's outlines as it made them.
    ContentCreatorName: personName(input.annotations.author),
    SegmentationType: 'BINARY',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    BurnedInAnnotation: 'NO',
    SegmentSequence: segments.map((s) => {
      const prop = SEGMENT_PROPERTIES[s.label];
      const item: Naturalized = {
        SegmentNumber: s.number,
        SegmentLabel: prop.label,
        SegmentDescription: text(`${prop.label}: ${describeAlgorithm(s.algorithmType)}`, 64),
        SegmentedPropertyCategoryCodeSequence: [prop.category],
        SegmentedPropertyTypeCodeSequence: [prop.type],
        SegmentAlgorithmType: s.algorithmType,
        RecommendedDisplayCIELabValue: prop.lab,
      };
      if (prop.region) item.AnatomicRegionSequence = [prop.region];
      if (s.algorithmType !== 'MANUAL') {
        // The model that made the outline (an edited one still started from it).
        item.SegmentAlgorithmName = text(model ? `${model.name} ${model.version}` : 'CXR Workstation model', 64);
      }
      return item;
    }),
    // Multi-frame Functional Groups and Dimensions
    NumberOfFrames: segments.length,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: REFERENCED_SEGMENT_NUMBER,
        FunctionalGroupPointer: SEGMENT_IDENTIFICATION_SEQUENCE,
        DimensionDescriptionLabel: 'Segment Number',
      },
    ],
    SharedFunctionalGroupsSequence: [
      {
        DerivationImageSequence: [
          {
            DerivationDescription: 'Segmented from the source radiograph',
            DerivationCodeSequence: [code('113076', 'DCM', 'Segmentation')],
            SourceImageSequence: [{ ...sourceRef, PurposeOfReferenceCodeSequence: [code('121322', 'DCM', 'Source image for image processing operation')] }],
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: segments.map((s) => ({
      FrameContentSequence: [{ DimensionIndexValues: [s.number] }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: s.number }],
    })),
    // Common Instance Reference: the source image, in the same study
    ReferencedSeriesSequence: [{ SeriesInstanceUID: src.seriesInstanceUid, ReferencedInstanceSequence: [sourceRef] }],
    PixelData: packFramesLsbFirst(segments.map((s) => s.pixels)).buffer,
  };
  return writePart10(ds, { PixelData: 'OB' });
}

function orientation(v: string | null): string[] | '' {
  const parts = (v ?? '').split('\\').map((s) => s.trim().toUpperCase());
  return parts.length === 2 && parts.every((p) => /^[APRLHF]{1,3}$/.test(p)) ? parts : '';
}

function describeAlgorithm(t: SegmentAlgorithmType): string {
  return t === 'AUTOMATIC' ? 'model outline, unedited' : t === 'SEMIAUTOMATIC' ? 'model outline edited by a reader' : 'drawn by a reader';
}
