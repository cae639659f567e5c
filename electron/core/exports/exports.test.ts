// The exports, read back by parsers that share no code with the writers: dicom-parser for the DICOM objects,
// Debian's dciodvfy (dicom3tools) and dsrdump (dcmtk) for IOD and SR conformance, pdftotext/pdfinfo (poppler) for the
// PDF. Cases are real shared DICOM samples and a TBX11K PNG imported into a temporary store, with an AI reading
// stored through the store and the reader's findings and masks saved through the annotations core.
//
// dciodvfy warnings that remain, and why they are accepted:
// - "Missing attribute or value that would be needed to build DICOMDIR": DICOMDIR-only advice (e.g. Study ID),
//   type 2 attributes the source image itself leaves empty.
// - "Unrecognized defined term <99CXRWS> for value 1 of attribute <Coding Scheme Designator>": our local coding
//   scheme (model labels, review states), declared in the Coding Scheme Identification Sequence as PS3.3 8.2 asks.
// - "Retired Person Name form": a name copied as the source file spells it (e.g. Referring Physician "ward").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { mock } from 'node:test';
import type * as DicomParserNs from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { AppError } from '../errors';
import { CaseStore } from '../store/index';
import { importBytes, importFile } from '../importing/index';
import { makeDicom, testImage } from '../imaging/testFixtures';
import { loadAnnotations, saveAnnotationVersion, type Finding } from '../annotations/index';
import { createUser, signCase, listAudit } from '../accounts/index';
import { loadReport } from '../reporting/index';
import { rasterizePolygon } from '../inference/postprocess';
import { FINDING_COLOURS, MASK_COLOURS, layerLegend } from '../../contract/presentation';
import { datasetsDir, tempDbPath, tempDir } from '../../testing/index';
import { capture } from '../../testing/cli';
import { main } from '../../cli/index';
import { missingTools } from '../../testing/tools';
import {
  buildExport, exportCase, exportCaseToFile, gatherExportInput, matchesOutline, packBits, packFramesLsbFirst, writeFileAtomic, boxPolyline, buildDicomResults, renderKeyImage,
  type ExportInput,
} from './index';

const require = createRequire(import.meta.url);
const dicomParser = require('dicom-parser') as typeof DicomParserNs;

const SAMPLES = path.join(datasetsDir, 'dicom_samples');
const RG1 = path.join(SAMPLES, 'nema_wg04_rg1_cr_chest_pa_j2k_lossy.dcm');
const RAW = path.join(SAMPLES, 'nema_cr_mono1_10_chest_no_part10_header.dcm');
const PNG_CXR = path.join(datasetsDir, 'tbx11k', 'images', 'tb0003.png');
const NOW = '2026-03-02T09:30:00.000Z';
const MODEL = { name: 'cxr-tb-v1', version: '1.0.0', sha256: 'ab'.repeat(32), ep: 'cpu' };

const noSamples = !fs.existsSync(RG1) && `the shared DICOM samples are not at ${SAMPLES}`;
const needs = (...tools: string[]) => noSamples || missingTools(...tools);

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

// ---- the case: an imported sample, an AI reading, and a reader's version ----------------------------------------

interface Case {
  store: CaseStore;
  caseId: number;
  imageId: number;
  rows: number;
  columns: number;
  masks: { right: Uint8Array; left: Uint8Array; lesion: Uint8Array };
}

function rect(W: number, H: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = Math.floor(y0); y < y1; y++) for (let x = Math.floor(x0); x < x1; x++) m[y * W + x] = 1;
  return m;
}

async function importedCase(file: string, opts: { analysis?: boolean } = {}): Promise<Case> {
  const store = CaseStore.open(tempDbPath());
  const r = await importFile(store, file);
  assert.equal(r.status, 'imported');
  if (r.status !== 'imported') throw new Error('import failed');
  const { rows, columns } = store.getImage(r.imageId);
  const W = columns;
  const H = rows;
  const right: [number, number][] = [[W * 0.12, H * 0.15], [W * 0.45, H * 0.12], [W * 0.47, H * 0.85], [W * 0.1, H * 0.8]];
  const left: [number, number][] = [[W * 0.55, H * 0.12], [W * 0.88, H * 0.15], [W * 0.9, H * 0.8], [W * 0.53, H * 0.85]];
  if (opts.analysis !== false) {
    store.saveAnalysis({
      imageId: r.imageId,
      model: MODEL,
      tbScore: 87.5,
      label: 'tb',
      result: {
        threshold: 42,
        probabilities: [{ name: 'healthy', p: 0.05 }, { name: 'sick_non_tb', p: 0.075 }, { name: 'tb', p: 0.875 }],
        boxes: [
          { x: W * 0.2, y: H * 0.2, w: W * 0.1, h: H * 0.08, label: 'ActiveTuberculosis', score: 0.81 },
          { x: W * 0.6, y: H * 0.25, w: W * 0.12, h: H * 0.1, label: 'ObsoletePulmonaryTuberculosis', score: 0.55 },
          { x: W * 0.7, y: H * 0.6, w: W * 0.05, h: H * 0.05, label: 'ActiveTuberculosis', score: 0.31 },
        ],
        lungs: { right, left },
      },
    }, NOW);
  }
  // The reader's version, through the annotations core: accept one proposal, move one, reject one, add one; keep the
  // right lung as the model drew it (one edge pixel differs, as another rasteriser may draw it), cut into the left
  // lung, draw a lesion.
  const proposal = loadAnnotations(store.db, r.imageId).findings;
  const rightMask = rasterizePolygon(right, W, H);
  const edge = rightMask.findIndex((v, i) => v === 1 && rightMask[i - 1] === 0);
  rightMask[edge] = 0;
  const leftMask = rasterizePolygon(left, W, H);
  for (let y = Math.floor(H * 0.4); y < H * 0.5; y++) for (let x = Math.floor(W * 0.65); x < W * 0.75; x++) leftMask[y * W + x] = 0;
  const lesion = rect(W, H, W * 0.6, H * 0.25, W * 0.72, H * 0.35);
  const by = { changedBy: 'Dr Ada Rad', changedAt: NOW };
  const findings: Finding[] = proposal.length
    ? [
        { ...proposal[0], state: 'accepted', provenance: { ...proposal[0].provenance, ...by } },
        { ...proposal[1], x: proposal[1].x + 10, state: 'edited', provenance: { ...proposal[1].provenance, ...by } },
        { ...proposal[2], state: 'rejected', provenance: { ...proposal[2].provenance, ...by } },
      ]
    : [];
  findings.push({ id: 'u1', kind: 'box', x: W * 0.3, y: H * 0.6, w: W * 0.08, h: H * 0.06, label: 'ActiveTuberculosis', provenance: { source: 'user', author: 'Dr Ada Rad', ...by }, state: 'added' });
  saveAnnotationVersion(store.db, r.imageId, {
    author: 'Dr Ada Rad',
    baseVersion: 0,
    findings,
    masks: [
      { id: 'right', label: 'right_lung', source: 'ai', width: W, height: H, packed: packBits(rightMask) },
      { id: 'left', label: 'left_lung', source: 'ai', width: W, height: H, packed: packBits(leftMask) },
      { id: 'lesion-1', label: 'lesion', source: 'user', width: W, height: H, packed: packBits(lesion) },
    ],
  }, NOW);
  return { store, caseId: r.caseId, imageId: r.imageId, rows, columns, masks: { right: rightMask, left: leftMask, lesion } };
}

async function signed(c: Case): Promise<void> {
  const db = c.store.db;
  const admin = await createUser(db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, { userId: null, username: 'admin' }, { firstAdministrator: true });
  const rad = await createUser(db, { username: 'rad', displayName: 'Ada Rad', role: 'radiologist', password: 'rad-pass-123' }, { userId: admin.id, username: 'admin' });
  signCase(db, c.caseId, { userId: rad.id, username: rad.username, displayName: rad.displayName, role: rad.role }, '2026-03-02T10:00:00.000Z');
}

// ---- reading back ------------------------------------------------------------------------------------------------

const scratch = tempDir('cxr-exports-');
let fileNo = 0;
function saved(bytes: Uint8Array, ext: string): string {
  const f = path.join(scratch, `out${++fileNo}.${ext}`);
  fs.writeFileSync(f, bytes);
  return f;
}

function parse(bytes: Uint8Array): DataSet {
  return dicomParser.parseDicom(bytes);
}
const items = (ds: DataSet, tag: string): DataSet[] => (ds.elements[tag]?.items ?? []).map((i) => i.dataSet!).filter(Boolean);
const str = (ds: DataSet, tag: string) => ds.string(tag) ?? '';

/** Every content item of an SR, depth first. */
function contentItems(ds: DataSet): DataSet[] {
  const out: DataSet[] = [];
  const walk = (d: DataSet) => {
    for (const it of items(d, 'x0040a730')) {
      out.push(it);
      walk(it);
    }
  };
  walk(ds);
  return out;
}
const conceptMeaning = (it: DataSet) => str(items(it, 'x0040a043')[0] ?? it, 'x00080104');

function dciodvfy(file: string): { errors: string[]; warnings: string[] } {
  const r = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)) };
}

/** The accepted warnings (see the top of this file); anything else is reported by the test. */
const ACCEPTED_WARNING = /needed to build DICOMDIR|<99CXRWS>|Retired Person Name form/;

function pdftotext(file: string): string {
  const r = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\s+/g, ' ');
}

// ---- tests -------------------------------------------------------------------------------------------------------

test('DICOM SR (TID 1500): valid per dciodvfy and dsrdump, same study, new series, score, algorithm, each finding with its SCOORD on the source image', { skip: needs('dciodvfy', 'dsrdump') }, async () => {
  const c = await importedCase(RG1);
  const input = gatherExportInput(c.store, c.caseId, { now: NOW });
  const src = parse(fs.readFileSync(RG1));
  const { bytes } = await buildExport(input, 'sr');
  const file = saved(bytes, 'dcm');

  const v = dciodvfy(file);
  assert.deepEqual(v.errors, [], `dciodvfy errors:\n${v.errors.join('\n')}`);
  assert.deepEqual(v.warnings.filter((w) => !ACCEPTED_WARNING.test(w)), []);
  const dump = spawnSync('dsrdump', ['-Ee', '-Ec', file], { encoding: 'utf8' });
  assert.equal(dump.status, 0, dump.stderr);
  assert.doesNotMatch(dump.stderr, /^E:/m);
  assert.match(dump.stdout, /Comprehensive SR Document/);
  assert.match(dump.stdout, /"Imaging Measurement Report"/);
  assert.match(dump.stdout, /"Algorithm Name"\)="cxr-tb-v1"/);
  assert.match(dump.stdout, /"Algorithm Version"\)="1.0.0"/);
  assert.match(dump.stdout, /"Image Region"\)=\(POLYLINE/);

  const ds = parse(bytes);
  assert.equal(str(ds, 'x00080016'), '1.2.840.10008.5.1.4.1.1.88.33');
  assert.equal(str(ds, 'x00080060'), 'SR');
  // patient and study copied from the source; a new series and instance
  for (const tag of ['x0020000d', 'x00100020', 'x00100010', 'x00100030', 'x00100040', 'x00080020', 'x00080050']) assert.equal(str(ds, tag), str(src, tag), tag);
  assert.notEqual(str(ds, 'x0020000e'), str(src, 'x0020000e'));
  assert.notEqual(str(ds, 'x00080018'), str(src, 'x00080018'));
  assert.equal(str(ds, 'x0040a493'), 'UNVERIFIED');
  assert.equal(str(items(ds, 'x0040a504')[0], 'x0040db00'), '1500');

  const all = contentItems(ds);
  const tb = all.find((it) => conceptMeaning(it).startsWith('Tuberculosis score'))!;
  assert.equal(Number(str(items(tb, 'x0040a300')[0], 'x0040a30a')), 87.5);
  const scoords = all.filter((it) => str(it, 'x0040a040') === 'SCOORD');
  // accepted, edited and added findings; the rejected proposal is not reported
  const kept = input.annotations.findings.filter((f) => f.state !== 'rejected');
  assert.equal(scoords.length, 3);
  scoords.forEach((sc, i) => {
    const el = sc.elements.x00700022;
    const data = Array.from({ length: el.length / 4 }, (_, k) => sc.float('x00700022', k)!);
    const expected = boxPolyline(kept[i]);
    data.forEach((d, k) => assert.ok(Math.abs(d - expected[k]) < 1e-3, `point ${k}: ${d} vs ${expected[k]}`));
    const ref = items(items(sc, 'x0040a730')[0], 'x00081199')[0];
    assert.equal(str(ref, 'x00081155'), str(src, 'x00080018'));
    assert.equal(str(ref, 'x00081150'), str(src, 'x00080016'));
  });
  // provenance of each finding
  const states = all.filter((it) => conceptMeaning(it) === 'Reader review state').map((it) => str(items(it, 'x0040a168')[0], 'x00080104'));
  assert.deepEqual(states, ['Accepted by the reader', 'Edited by the reader', 'Added by the reader']);
  assert.ok(all.some((it) => conceptMeaning(it) === 'Model proposal before the reader edited it'));
  c.store.close();
});

test('DICOM SEG: valid per dciodvfy, one segment per label with AUTOMATIC / SEMIAUTOMATIC / MANUAL from provenance, pixels bit for bit, referencing the source', { skip: needs('dciodvfy') }, async () => {
  const c = await importedCase(RG1);
  const input = gatherExportInput(c.store, c.caseId, { now: NOW });
  const src = parse(fs.readFileSync(RG1));
  const { bytes } = await buildExport(input, 'seg');
  const v = dciodvfy(saved(bytes, 'dcm'));
  assert.deepEqual(v.errors, [], `dciodvfy errors:\n${v.errors.join('\n')}`);
  assert.deepEqual(v.warnings.filter((w) => !ACCEPTED_WARNING.test(w)), []);

  const ds = parse(bytes);
  assert.equal(str(ds, 'x00080016'), '1.2.840.10008.5.1.4.1.1.66.4');
  assert.equal(str(ds, 'x00080060'), 'SEG');
  assert.equal(str(ds, 'x0020000d'), str(src, 'x0020000d'));
  assert.equal(str(ds, 'x00100020'), str(src, 'x00100020'));
  assert.notEqual(str(ds, 'x0020000e'), str(src, 'x0020000e'));
  assert.equal(str(ds, 'x00620001'), 'BINARY');
  const segs = items(ds, 'x00620002');
  assert.deepEqual(segs.map((s) => str(s, 'x00620005')), ['Right lung', 'Left lung', 'Lesion']);
  assert.deepEqual(segs.map((s) => str(s, 'x00620008')), ['AUTOMATIC', 'SEMIAUTOMATIC', 'MANUAL']);
  assert.equal(str(items(segs[0], 'x0062000f')[0], 'x00080100'), '3341006');
  assert.equal(str(ds, 'x00280008'), '3');
  // frames: one bit a pixel, least significant bit first, frames back to back
  const px = ds.elements.x7fe00010;
  const n = c.rows * c.columns;
  const expected = [c.masks.right, c.masks.left, c.masks.lesion];
  for (let f = 0; f < 3; f++) {
    let diff = 0;
    for (let i = 0; i < n; i++) {
      const bit = f * n + i;
      const v = (ds.byteArray[px.dataOffset + (bit >> 3)] >> (bit & 7)) & 1;
      if (v !== expected[f][i]) diff++;
    }
    assert.equal(diff, 0, `frame ${f + 1}`);
  }
  // the source image, by derivation and in the common instance reference
  const derivation = items(items(items(ds, 'x52009229')[0], 'x00089124')[0], 'x00082112')[0];
  assert.equal(str(derivation, 'x00081155'), str(src, 'x00080018'));
  const refSeries = items(ds, 'x00081115')[0];
  assert.equal(str(refSeries, 'x0020000e'), str(src, 'x0020000e'));
  assert.equal(str(items(refSeries, 'x0008114a')[0], 'x00081155'), str(src, 'x00080018'));
  // per-frame: dimension index value = segment number
  const perFrame = items(ds, 'x52009230');
  assert.deepEqual(perFrame.map((p) => items(p, 'x0062000a')[0].uint16('x0062000b')), [1, 2, 3]);
  c.store.close();
});

test('PDF: patient and study, the key image, findings with provenance, the report text, and a DRAFT mark until signed; then the signature', { skip: needs('pdftotext', 'pdfinfo') }, async () => {
  const c = await importedCase(RG1);
  const input = gatherExportInput(c.store, c.caseId, { now: NOW });
  const { bytes } = await buildExport(input, 'pdf');
  const file = saved(bytes, 'pdf');
  const info = spawnSync('pdfinfo', [file], { encoding: 'utf8' });
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /Title:\s+Chest X-ray report — CompressedSamples RG1 \(9RG1\)/);
  const text = pdftotext(file);
  assert.match(text, /DRAFT — not signed/);
  assert.match(text, /Patient ID: 9RG1/);
  assert.match(text, /Birth date: 1940-03-05/);
  assert.match(text, /cxr-tb-v1 1\.0\.0/);
  assert.match(text, /TB score: 87\.5 \/ 100/);
  assert.match(text, /1\. active TB — .*proposed by cxr-tb-v1 1\.0\.0, accepted by Dr Ada Rad/);
  assert.match(text, /2\. obsolete \/ latent TB — .*edited by Dr Ada Rad/);
  assert.match(text, /3\. active TB — .*drawn by Dr Ada Rad/);
  assert.match(text, /1 model proposal was rejected/);
  // the report as reporting holds it
  const report = loadReport(c.store.db, c.caseId);
  assert.match(text, /IMPRESSION/);
  const firstWords = report.sections!.impression.split(/\s+/).slice(0, 6).join(' ');
  assert.ok(text.includes(firstWords), `the PDF has the impression "${firstWords}"`);
  // the key image is embedded as a PNG of print resolution
  const images = spawnSync('pdfimages', ['-list', file], { encoding: 'utf8' });
  if (images.status === 0) assert.match(images.stdout, /\s1130\s+1200\s+rgb/);

  await signed(c);
  const signedPdf = saved((await buildExport(gatherExportInput(c.store, c.caseId, { now: NOW }), 'pdf')).bytes, 'pdf');
  const st = pdftotext(signedPdf);
  assert.match(st, /Signed by Ada Rad at 2026-03-02T10:00:00.000Z/);
  assert.match(st, /SHA-256 of the signed content: [0-9a-f]{64}/);
  assert.doesNotMatch(st, /DRAFT/);
  c.store.close();
});

test('signed case: the SR is COMPLETE and VERIFIED with the radiologist as verifying observer', { skip: needs('dciodvfy') }, async () => {
  const c = await importedCase(RG1);
  await signed(c);
  const { bytes } = await buildExport(gatherExportInput(c.store, c.caseId, { now: NOW }), 'sr');
  assert.deepEqual(dciodvfy(saved(bytes, 'dcm')).errors, []);
  const ds = parse(bytes);
  assert.equal(str(ds, 'x0040a491'), 'COMPLETE');
  assert.equal(str(ds, 'x0040a493'), 'VERIFIED');
  const obs = items(ds, 'x0040a073')[0];
  assert.equal(str(obs, 'x0040a075'), 'Rad^Ada');
  assert.equal(str(obs, 'x0040a030'), '20260302100000+0000');
  c.store.close();
});

test('encapsulated PDF: valid per dciodvfy, the PDF bytes intact, same study, referencing the source image', { skip: needs('dciodvfy') }, async () => {
  const c = await importedCase(RG1);
  const input = gatherExportInput(c.store, c.caseId, { now: NOW });
  const { bytes } = await buildExport(input, 'pdf-dicom');
  assert.deepEqual(dciodvfy(saved(bytes, 'dcm')).errors, []);
  const ds = parse(bytes);
  assert.equal(str(ds, 'x00080016'), '1.2.840.10008.5.1.4.1.1.104.1');
  assert.equal(str(ds, 'x00420012'), 'application/pdf');
  assert.equal(str(ds, 'x0020000d'), input.study.studyInstanceUid);
  const doc = ds.elements.x00420011;
  const length = ds.uint32('x00420015')!;
  const pdf = ds.byteArray.subarray(doc.dataOffset, doc.dataOffset + length);
  assert.equal(Buffer.from(pdf.subarray(0, 5)).toString('latin1'), '%PDF-');
  assert.match(Buffer.from(pdf.subarray(pdf.length - 8)).toString('latin1'), /%%EOF\s*$/);
  assert.equal(str(items(ds, 'x00420013')[0], 'x00081155'), input.source.sopInstanceUid);
  c.store.close();
});

test('DICOM results for a PACS: SR, SEG and encapsulated PDF, each a new series of the study, with the UIDs they carry', async (t) => {
  if (noSamples) return t.skip(noSamples);
  const c = await importedCase(RAW);
  const input = gatherExportInput(c.store, c.caseId, { now: NOW });
  const results = await buildDicomResults(input);
  assert.deepEqual(results.map((r) => r.format), ['sr', 'seg', 'pdf-dicom']);
  assert.equal(new Set(results.map((r) => r.seriesInstanceUid)).size, 3);
  for (const r of results) {
    const ds = parse(r.bytes);
    assert.equal(str(ds, 'x00080018'), r.sopInstanceUid);
    assert.equal(str(ds, 'x00080016'), r.sopClassUid);
    assert.equal(str(ds, 'x0020000e'), r.seriesInstanceUid);
    assert.equal(str(ds, 'x0020000d'), input.study.studyInstanceUid);
  }
  c.store.close();
});

test('JSON: the whole case, with provenance, versions, masks, report, signature state and audit entries', async (t) => {
  if (noSamples) return t.skip(noSamples);
  const c = await importedCase(RG1);
  const built = await exportCase(c.store, c.caseId, 'json', { userId: null, username: 'tester' }, { now: NOW });
  const doc = JSON.parse(new TextDecoder().decode(built.bytes));
  assert.equal(doc.format, 'cxr-case-export/1');
  assert.equal(doc.patient.id, '9RG1');
  assert.equal(doc.analysis.tbScore, 87.5);
  assert.equal(doc.analysis.threshold, 42);
  assert.deepEqual(doc.annotations.findings.map((f: Finding) => f.state), ['accepted', 'edited', 'rejected', 'added']);
  assert.equal(doc.annotations.findings[1].aiOriginal.score, 0.55);
  assert.equal(doc.annotations.versions.length, 1);
  const types = Object.fromEntries(doc.masks.map((m: { label: string; algorithmType: string }) => [m.label, m.algorithmType]));
  assert.deepEqual(types, { right_lung: 'AUTOMATIC', left_lung: 'SEMIAUTOMATIC', lesion: 'MANUAL' });
  const lesion = doc.masks.find((m: { label: string }) => m.label === 'lesion');
  assert.deepEqual(new Uint8Array(Buffer.from(lesion.data, 'base64')), packBits(c.masks.lesion));
  assert.equal(doc.signature.state, 'unsigned');
  assert.ok(doc.report.sections.some((s: { title: string }) => s.title === 'IMPRESSION'));
  // the export itself is audited
  const audit = listAudit(c.store.db, { targetType: 'case', targetId: c.caseId });
  assert.equal(audit[0].action, 'case.export');
  assert.equal(audit[0].details.format, 'json');
  c.store.close();
});

test('a DICOM without a Part 10 header and a PNG import: SR and SEG still valid, the PNG\'s identity generated from the case and said so', { skip: needs('dciodvfy') }, async () => {
  const raw = await importedCase(RAW);
  const rawInput = gatherExportInput(raw.store, raw.caseId, { now: NOW });
  assert.equal(rawInput.source.origin, 'dicom');
  assert.equal(rawInput.source.sopClassUid, '1.2.840.10008.5.1.4.1.1.1');
  for (const f of ['sr', 'seg'] as const) assert.deepEqual(dciodvfy(saved((await buildExport(rawInput, f)).bytes, 'dcm')).errors, [], `${f} of the raw DICOM`);
  raw.store.close();

  if (!fs.existsSync(PNG_CXR)) return;
  const png = await importedCase(PNG_CXR);
  const input = gatherExportInput(png.store, png.caseId, { now: NOW });
  assert.equal(input.source.origin, 'generated');
  assert.equal(input.source.sopClassUid, '1.2.840.10008.5.1.4.1.1.7');
  assert.match(input.notes.join(' '), /imported as PNG, not DICOM/);
  for (const f of ['sr', 'seg', 'pdf-dicom'] as const) {
    const built = await buildExport(input, f);
    assert.match(built.notes.join(' '), /not DICOM/);
    const v = dciodvfy(saved(built.bytes, 'dcm'));
    assert.deepEqual(v.errors, [], `${f} of the PNG: ${v.errors.join('\n')}`);
    const ds = parse(built.bytes);
    assert.equal(str(ds, 'x0020000d'), png.store.getCase(png.caseId).studyInstanceUid);
    assert.equal(str(ds, 'x00100020'), png.store.getCase(png.caseId).patientId);
  }
  png.store.close();
});

test('errors: a missing case, nothing to segment, an unwritable or full destination; never a half-written file', async (t) => {
  if (noSamples) return t.skip(noSamples);
  const c = await importedCase(RAW);
  const actor = { userId: null, username: 'tester' };
  assert.throws(() => gatherExportInput(c.store, 999), code('NOT_FOUND'));
  await assert.rejects(exportCaseToFile(c.store, 999, 'pdf', path.join(scratch, 'x.pdf'), actor), code('NOT_FOUND'));

  const dir = tempDir('cxr-export-dest-');
  await assert.rejects(exportCaseToFile(c.store, c.caseId, 'json', path.join(dir, 'missing', 'x.json'), actor), (e: unknown) => code('EXPORT_WRITE_FAILED')(e) && /does not exist/.test((e as Error).message));
  await assert.rejects(exportCaseToFile(c.store, c.caseId, 'json', dir, actor), (e: unknown) => code('EXPORT_WRITE_FAILED')(e) && /is a folder/.test((e as Error).message));
  const blocker = path.join(dir, 'a-file');
  fs.writeFileSync(blocker, 'x');
  await assert.rejects(exportCaseToFile(c.store, c.caseId, 'json', path.join(blocker, 'x.json'), actor), code('EXPORT_WRITE_FAILED'));

  // The disk fills up half-way: the earlier file stays as it was, no temporary file is left.
  const target = path.join(dir, 'case.pdf');
  fs.writeFileSync(target, 'the earlier export');
  let calls = 0;
  const realWrite = fs.writeSync.bind(fs) as (fd: number, buf: Uint8Array) => number;
  const write = mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, off: number) => {
    if (++calls > 1) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    return realWrite(fd, buf.subarray(off, off + 100));
  });
  try {
    await assert.rejects(exportCaseToFile(c.store, c.caseId, 'pdf', target, actor), code('DISK_FULL'));
  } finally {
    write.mock.restore();
  }
  assert.equal(fs.readFileSync(target, 'utf8'), 'the earlier export');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a-file', 'case.pdf']);
  // nothing written, nothing audited
  assert.ok(!listAudit(c.store.db, { targetType: 'case', targetId: c.caseId }).some((e) => e.action === 'case.export'));

  const ok = await exportCaseToFile(c.store, c.caseId, 'sr', path.join(dir, 'sr.dcm'), actor);
  assert.equal(fs.statSync(ok.file).size, ok.bytes.byteLength);
  c.store.close();

  // a case with neither masks nor an AI reading has nothing to segment
  const bare = await importedCase(RAW, { analysis: false });
  bare.store.db.prepare('DELETE FROM annotation_version_masks').run();
  await assert.rejects(buildExport(gatherExportInput(bare.store, bare.caseId), 'seg'), code('EXPORT_NOTHING'));
  // and an image with neither a reading nor a finding has nothing for an SR
  saveAnnotationVersion(bare.store.db, bare.imageId, { author: 'Dr Ada Rad', baseVersion: 1, findings: [], masks: [] });
  await assert.rejects(buildExport(gatherExportInput(bare.store, bare.caseId), 'sr'), code('EXPORT_NOTHING'));
  // but its PDF and JSON still export, saying what is missing
  const pdf = await buildExport(gatherExportInput(bare.store, bare.caseId), 'pdf');
  assert.match(pdf.notes.join(' '), /no AI reading/);
  bare.store.close();
});

test('cxr export CASE --format F --out FILE writes the file and prints JSON; a bad case exits 1 and writes nothing', async (t) => {
  if (noSamples) return t.skip(noSamples);
  const c = await importedCase(RAW);
  const db = c.store.dbPath;
  c.store.close();
  const dir = tempDir('cxr-export-cli-');
  const { lines, errs, out } = capture();
  const file = path.join(dir, 'r.pdf');
  assert.equal(await main(['export', String(c.caseId), '--format', 'pdf', '--out', file, '--db', db, '--json'], out), 0, errs.join('\n'));
  const r = JSON.parse(lines[0]);
  assert.equal(r.file, file);
  assert.equal(r.format, 'pdf');
  assert.equal(fs.readFileSync(file).subarray(0, 5).toString('latin1'), '%PDF-');
  assert.equal(await main(['export', '999', '--format', 'sr', '--out', path.join(dir, 'no.dcm'), '--db', db, '--json'], out), 1);
  assert.equal(JSON.parse(errs.at(-1)!).error.code, 'NOT_FOUND');
  assert.ok(!fs.existsSync(path.join(dir, 'no.dcm')));
  assert.equal(await main(['export', String(c.caseId), '--format', 'docx', '--out', file, '--db', db], out), 2);
});

test('mask provenance: an AI mask differing from the outline only on its edge is untouched; any inner change is an edit', () => {
  const W = 40;
  const H = 30;
  const poly: [number, number][] = [[5, 5], [30, 4], [32, 25], [6, 26]];
  const ref = rasterizePolygon(poly, W, H);
  assert.equal(matchesOutline(ref, ref, W, H), true);
  const edge = ref.slice();
  edge[ref.findIndex((v) => v === 1)] = 0; // first pixel of the top row: an edge pixel
  assert.equal(matchesOutline(edge, ref, W, H), true);
  const hole = ref.slice();
  hole[15 * W + 18] = 0; // the middle
  assert.equal(matchesOutline(hole, ref, W, H), false);
  const blob = ref.slice();
  blob[1 * W + 1] = 1; // far outside
  assert.equal(matchesOutline(blob, ref, W, H), false);
});

test('SEG pixel packing: least significant bit first, frames back to back without padding, even length', () => {
  const a = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]); // 11 pixels
  const b = new Uint8Array([0, 0, 0, 0, 0, 1]); // 6 pixels, starting at bit 11
  const packed = packFramesLsbFirst([a, b]);
  assert.deepEqual(Array.from(packed), [0b00000001, 0b00000011, 0b00000001, 0]);
});

test('key image rendering: window, MONOCHROME1 inverted, area-averaged to the print size, lung outline and box drawn in', () => {
  const W = 100;
  const H = 80;
  const pixels = new Uint16Array(W * H);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i % W) * 10; // 0 at the left edge, 990 at the right
  const lung = new Uint8Array(W * H);
  for (let y = 20; y < 60; y++) for (let x = 10; x < 40; x++) lung[y * W + x] = 1;
  const base = {
    image: { rows: H, columns: W, pixels, photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0, pixelSpacing: null, window: { name: 'w', center: 500, width: 1000 } },
    masks: [{ id: 'r', label: 'right_lung', source: 'ai', width: W, height: H, packed: packBits(lung), algorithmType: 'AUTOMATIC', origin: 'saved' }],
  } as unknown as ExportInput;
  const finding = { id: 'f', kind: 'box', x: 60, y: 10, w: 20, h: 20, label: 'ActiveTuberculosis', provenance: { source: 'user' }, state: 'added' } as Finding;
  const r = renderKeyImage(base, [finding], 50);
  assert.deepEqual([r.width, r.height], [50, 40]);
  const px = (x: number, y: number) => Array.from(r.rgb.subarray((y * r.width + x) * 3, (y * r.width + x) * 3 + 3));
  assert.deepEqual(px(0, 39), [2, 2, 2]); // dark at the left: values 0 and 10 window to 0 and 3, averaged
  assert.ok(px(49, 39)[0] > 250); // bright at the right
  // the viewer's own colours (contract/presentation): the legend under the key image names the same ones
  assert.deepEqual(px(5, 20), [...MASK_COLOURS.right_lung.rgb]); // the right lung's edge
  assert.deepEqual(px(30, 10), [...FINDING_COLOURS.added.rgb]); // the box a reader added
  assert.match(layerLegend(['added']), new RegExp(`right lung in ${MASK_COLOURS.right_lung.name}, left lung in ${MASK_COLOURS.left_lung.name}.*added by a reader in ${FINDING_COLOURS.added.name}`));
  assert.deepEqual(r.boxes.map((b) => [b.n, b.x, b.y, b.w, b.h]), [[1, 30, 5, 10, 10]]);
  const inverted = renderKeyImage({ ...base, image: { ...base.image, photometric: 'MONOCHROME1' } } as ExportInput, [], 50);
  assert.deepEqual(Array.from(inverted.rgb.subarray(39 * 50 * 3, 39 * 50 * 3 + 3)), [254, 254, 254]);
});

test('writeFileAtomic replaces an existing file whole', () => {
  const dir = tempDir('cxr-atomic-');
  const f = path.join(dir, 'x.bin');
  fs.writeFileSync(f, 'old');
  writeFileAtomic(f, new Uint8Array([1, 2, 3]));
  assert.deepEqual(Array.from(fs.readFileSync(f)), [1, 2, 3]);
  assert.deepEqual(fs.readdirSync(dir), ['x.bin']);
});


test('a late image of a signed study: the signed exports stay VERIFIED over exactly what was signed, the follow-up exports are drafts', { skip: needs('pdftotext') }, async () => {
  const c = await importedCase(RG1);
  await signed(c);
  const signedCase = c.store.getCase(c.caseId);
  // the X-ray unit sends one more image of the same study after sign-off
  const late = makeDicom({ rows: 64, columns: 64, bitsStored: 12, pixels: testImage(64, 64, 12, 3), attrs: { StudyInstanceUID: signedCase.studyInstanceUid, PatientID: signedCase.patientId, PatientName: signedCase.patientName } });
  const outcome = await importBytes(c.store, late, 'late.dcm');
  assert.equal(outcome.status, 'imported');
  if (outcome.status !== 'imported') return;
  assert.notEqual(outcome.caseId, c.caseId);
  assert.equal(outcome.followsCaseId, c.caseId);
  assert.deepEqual(c.store.getCase(c.caseId).images.map((i) => i.imageId), [c.imageId]);
  c.store.saveAnalysis({ imageId: outcome.imageId, model: MODEL, tbScore: 12.5, label: 'healthy', result: { threshold: 42, probabilities: [], boxes: [], lungs: { right: [], left: [] } } }, NOW);

  // the signed case: SR COMPLETE/VERIFIED, JSON signed and verified over its one image, PDF with the signature
  const sr = parse((await buildExport(gatherExportInput(c.store, c.caseId, { now: NOW }), 'sr')).bytes);
  assert.deepEqual([str(sr, 'x0040a491'), str(sr, 'x0040a493')], ['COMPLETE', 'VERIFIED']);
  const doc = JSON.parse(new TextDecoder().decode((await buildExport(gatherExportInput(c.store, c.caseId, { now: NOW }), 'json')).bytes));
  assert.deepEqual([doc.signature.state, doc.signature.coversExport, doc.verified, doc.image.imageId], ['signed', true, true, c.imageId]);
  assert.deepEqual(doc.caseLinks, { followsCaseId: null, followUpCaseIds: [outcome.caseId] });
  assert.throws(() => gatherExportInput(c.store, c.caseId, { imageId: outcome.imageId }), code('NOT_FOUND'), 'the late image is not an image of the signed case');

  // the follow-up: a draft, which says whom it follows
  for (const format of ['sr', 'pdf-dicom'] as const) {
    const ds = parse((await buildExport(gatherExportInput(c.store, outcome.caseId, { now: NOW }), format)).bytes);
    assert.equal(str(ds, 'x0040a493'), 'UNVERIFIED', format);
    if (format === 'sr') assert.equal(str(ds, 'x0040a491'), 'PARTIAL');
  }
  const fu = JSON.parse(new TextDecoder().decode((await buildExport(gatherExportInput(c.store, outcome.caseId, { now: NOW }), 'json')).bytes));
  assert.deepEqual([fu.signature.state, fu.verified, fu.caseLinks.followsCaseId], ['unsigned', false, c.caseId]);
  const pdf = pdftotext(saved((await buildExport(gatherExportInput(c.store, outcome.caseId, { now: NOW }), 'pdf')).bytes, 'pdf'));
  assert.match(pdf, /DRAFT — not signed/);
  assert.match(pdf, new RegExp(`arrived after case ${c.caseId} was signed`));

  // a signed case holding an image its signature does not cover (a store damaged past the database's own guard):
  // every export of it is a draft that says why, never VERIFIED
  c.store.db.exec('DROP TRIGGER images_signed_case_move');
  const seriesOfSigned = c.store.db.prepare('SELECT id FROM series WHERE study_ref = ?').pluck().get(c.caseId);
  c.store.db.prepare('UPDATE images SET series_ref = ? WHERE id = ?').run(seriesOfSigned, outcome.imageId);
  const damaged = gatherExportInput(c.store, c.caseId, { now: NOW });
  assert.equal(damaged.signature.state === 'signed' && damaged.signature.coversExport, false);
  assert.ok(damaged.notes.some((n) => /not what Ada Rad signed .*arrived after signing/.test(n)), damaged.notes.join('\n'));
  const bad = parse((await buildExport(damaged, 'sr')).bytes);
  assert.deepEqual([str(bad, 'x0040a491'), str(bad, 'x0040a493')], ['PARTIAL', 'UNVERIFIED']);
  assert.match(pdftotext(saved((await buildExport(damaged, 'pdf')).bytes, 'pdf')), /DRAFT — not signed — not what was signed/);
  c.store.close();
});
