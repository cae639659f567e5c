// Test fixtures for the accounts tests: a store with one case of one small image.
import { CaseStore, sha256, type NewImageRecord } from '../store/index';
import { tempDbPath } from '../../testing/index';

export function imageRecord(i: number, rows = 64, columns = 64): NewImageRecord {
  return {
    patient: { patientId: `P${i}`, patientName: `Patient^${i}`, birthDate: null, sex: null },
    study: { studyInstanceUid: `1.8.${i}`, studyDate: null, studyTime: null, accessionNumber: null, description: null },
    series: { seriesInstanceUid: `1.8.${i}.1`, modality: 'CR', bodyPart: 'CHEST', viewPosition: 'PA', seriesNumber: 1, description: null },
    image: {
      sopInstanceUid: `1.8.${i}.1.1`,
      sopClassUid: null,
      rows,
      columns,
      bitsStored: 12,
      photometric: 'MONOCHROME2',
      rescaleSlope: 1,
      rescaleIntercept: 0,
      pixelSpacing: null,
      minPixel: 0,
      maxPixel: 4095,
      windows: [{ name: 'Default', center: 2048, width: 4096 }],
      pixelSha256: sha256(new TextEncoder().encode(`acct-px${i}`)),
      sourceName: `acct${i}.png`,
      sourceSha256: sha256(new TextEncoder().encode(`acct-src${i}`)),
      sourceFormat: 'png',
      transferSyntax: null,
    },
  };
}

export function storeWithCase(): { store: CaseStore; caseId: number; imageId: number } {
  const store = CaseStore.open(tempDbPath());
  const { caseId, imageId } = store.insertImage(imageRecord(1));
  return { store, caseId, imageId };
}
