// Reporting speed on a 3000 x 3000 image whose reader drew both lung masks (full resolution, 1.1 MB packed each) and
// ten boxes: the report the panel re-reads after every annotation save (facts, zones, draft, versions; target 50 ms),
// a text save (target 20 ms), and a question through the facts (target 50 ms). The pure draft is shown for scale.
import { CaseStore, sha256, type NewImageRecord } from '../electron/core/store/index';
import { saveAnnotationVersion, type Finding } from '../electron/core/annotations/index';
import { answerQuestion, caseFacts, draftReport, imageFacts, loadReport, saveReportText } from '../electron/core/reporting/index';
import { tempDbPath } from '../electron/testing/index';
import { median, percentile, report, time } from './stats';

const N = 3000;

function record(): NewImageRecord {
  return {
    patient: { patientId: 'B1', patientName: 'Bench^Report', birthDate: null, sex: null },
    study: { studyInstanceUid: '1.7.1', studyDate: null, studyTime: null, accessionNumber: null, description: null },
    series: { seriesInstanceUid: '1.7.1.1', modality: 'DX', bodyPart: 'CHEST', viewPosition: 'PA', seriesNumber: 1, description: null },
    image: {
      sopInstanceUid: '1.7.1.1.1', sopClassUid: null, rows: N, columns: N, bitsStored: 12, photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0,
      pixelSpacing: null, minPixel: 0, maxPixel: 4095, windows: [{ name: 'Default', center: 2048, width: 4096 }],
      pixelSha256: sha256(new TextEncoder().encode('bench-report-px')), sourceName: 'b.dcm', sourceSha256: sha256(new TextEncoder().encode('bench-report-src')),
      sourceFormat: 'dicom', transferSyntax: null,
    },
  };
}

function ellipseMask(cx: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil((N * N) / 8));
  for (let y = 350; y < 2650; y++) {
    const dy = (y - 1500) / 1150;
    const half = Math.sqrt(Math.max(0, 1 - dy * dy)) * 550;
    for (let x = Math.round(cx - half); x < Math.round(cx + half); x++) bits[(y * N + x) >> 3] |= 0x80 >> ((y * N + x) & 7);
  }
  return bits;
}

export async function benchReporting(): Promise<void> {
  const store = CaseStore.open(tempDbPath());
  const { caseId, imageId } = store.insertImage(record());
  const lung = (cx: number): [number, number][] => Array.from({ length: 48 }, (_, i) => [cx + Math.cos((i / 48) * 2 * Math.PI) * 550, 1500 + Math.sin((i / 48) * 2 * Math.PI) * 1150] as [number, number]);
  store.saveAnalysis({
    imageId, model: { name: 'cxr-tb-v1', version: '1.0.0', sha256: 'x', ep: 'cpu' }, tbScore: 70, label: 'tb',
    result: { threshold: 8.95, boxes: [], lungs: { right: lung(850), left: lung(2150) }, zones: [] },
  });
  const findings: Finding[] = Array.from({ length: 10 }, (_, i) => ({
    id: `b${i}`, kind: 'box', x: 400 + (i % 5) * 450, y: 500 + Math.floor(i / 5) * 1100, w: 250, h: 200,
    label: i % 3 ? 'ActiveTuberculosis' : 'ObsoletePulmonaryTuberculosis', provenance: { source: 'user', author: 'bench' }, state: 'added',
  }));
  saveAnnotationVersion(store.db, imageId, {
    author: 'bench', baseVersion: 0, findings,
    masks: [
      { id: 'r', label: 'right_lung', source: 'user', width: N, height: N, packed: ellipseMask(850) },
      { id: 'l', label: 'left_lung', source: 'user', width: N, height: N, packed: ellipseMask(2150) },
    ],
  });
  const who = { userId: null, username: 'bench', displayName: 'Bench' };
  const facts = caseFacts(store.db, caseId);
  let version = 0;
  const rows: [string, number, number][] = [];
  const add = (label: string, xs: number[]) => rows.push([label, median(xs), percentile(xs, 95)]);
  add('report:get (facts from 2 full-size lung masks, zones, draft)', await time(() => loadReport(store.db, caseId), 30));
  add('report:save (edited text, version + audit entry)', await time(() => { version = saveReportText(store.db, caseId, { baseVersion: version, text: `Edited ${version}` }, who).version; }, 30));
  add('vqa:ask ("is the left upper zone affected?")', await time(() => answerQuestion(imageFacts(store.db, imageId), 'is the left upper zone affected?'), 30));
  add('draft only (pure, from facts)', await time(() => draftReport(facts), 200));
  report('Reporting, 3000 x 3000 image with reader lung masks and 10 boxes', rows, 50);
  store.close();
}
