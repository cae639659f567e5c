// One small image record for tests that need a case in the store without decoding a file: patient P<i>, study
// 1.9.<i>, a 12-bit MONOCHROME2 chest image. Hashes are derived from `tag` and `i`, so records with different tags or
// numbers never collide as duplicates.
import { sha256, type NewImageRecord } from '../core/store/index';

export interface TestImageOptions {
  rows?: number;
  columns?: number;
  modality?: string;
  /** null: the file does not say (the report then says the view is not stated) */
  viewPosition?: string | null;
  sourceFormat?: string;
  sex?: string | null;
  studyDate?: string | null;
  /** distinguishes the hashes of one test file's records from another's */
  tag?: string;
}

export function testImageRecord(i: number, o: TestImageOptions = {}): NewImageRecord {
  const tag = o.tag ?? 'test';
  const format = o.sourceFormat ?? 'png';
  return {
    patient: { patientId: `P${i}`, patientName: `Patient^${i}`, birthDate: null, sex: o.sex ?? null },
    study: { studyInstanceUid: `1.9.${i}`, studyDate: o.studyDate ?? null, studyTime: null, accessionNumber: null, description: null },
    series: { seriesInstanceUid: `1.9.${i}.1`, modality: o.modality ?? 'CR', bodyPart: 'CHEST', viewPosition: o.viewPosition === undefined ? 'PA' : o.viewPosition, seriesNumber: 1, description: null },
    image: {
      sopInstanceUid: `1.9.${i}.1.1`,
      sopClassUid: null,
      rows: o.rows ?? 64,
      columns: o.columns ?? 64,
      bitsStored: 12,
      photometric: 'MONOCHROME2',
      rescaleSlope: 1,
      rescaleIntercept: 0,
      pixelSpacing: null,
      minPixel: 0,
      maxPixel: 4095,
      windows: [{ name: 'Default', center: 2048, width: 4096 }],
      pixelSha256: sha256(new TextEncoder().encode(`${tag}-px${i}`)),
      sourceName: `${tag}${i}.${format === 'dicom' ? 'dcm' : format}`,
      sourceSha256: sha256(new TextEncoder().encode(`${tag}-src${i}`)),
      sourceFormat: format,
      transferSyntax: null,
    },
  };
}
