// The PDF report (pdf-lib): patient and study, the key image with its overlays, the AI reading, the findings with
// their provenance, the report text, and the signature block, or a "DRAFT — not signed" mark on every page.
// Text is set in the PDF standard fonts (no font files to ship); a character they cannot show (a name in a
// non-Latin script) is printed as '?', and the page says so; the DICOM and JSON exports keep every name exactly.
import { deflateSync } from 'node:zlib';
import { PDFDocument, PDFFont, PDFPage, StandardFonts, rgb, degrees, pushGraphicsState, popGraphicsState, concatTransformationMatrix, drawObject } from 'pdf-lib';
import type { Finding } from '../../contract/annotations';
import { LESION_LABEL_NAMES } from '../../contract/annotations';
import { renderKeyImage } from './render';
import { layerLegend } from '../../contract/presentation';
import { reportedFindings } from './sr';
import { verifiedSignature, type ExportInput } from './types';

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 48;
const BODY = 9.5;
const LINE = 13;

export const DRAFT_MARK = 'DRAFT — not signed';

interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
}

/** Text the standard font can encode: accents are kept where WinAnsi has them, dropped where it does not, other characters become '?'. */
export function pdfSafe(font: PDFFont, s: string, lost: { count: number }): string {
  const supported = new Set(font.getCharacterSet());
  let out = '';
  for (const ch of s.replace(/\r\n?/g, '\n').replace(/\t/g, '  ')) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\n' || supported.has(cp)) {
      out += ch;
      continue;
    }
    const base = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
    if (base && [...base].every((c) => supported.has(c.codePointAt(0)!))) out += base;
    else {
      out += '?';
      lost.count++;
    }
  }
  return out;
}

function wrap(font: PDFFont, size: number, text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    if (!para.trim()) {
      lines.push('');
      continue;
    }
    let line = '';
    for (const word of para.split(/\s+/)) {
      const candidate = line ? `${line} ${word}` : word;
      if (font.widthOfTextAtSize(candidate, size) <= width) {
        line = candidate;
        continue;
      }
      if (line) lines.push(line);
      // A word longer than the line (a hash, a path) is cut where it must be.
      let rest = word;
      while (font.widthOfTextAtSize(rest, size) > width) {
        let n = rest.length;
        while (n > 1 && font.widthOfTextAtSize(rest.slice(0, n), size) > width) n--;
        lines.push(rest.slice(0, n));
        rest = rest.slice(n);
      }
      line = rest;
    }
    lines.push(line);
  }
  return lines;
}

const fmtDate = (d: string | null | undefined) => (d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d || '—');
const fmtName = (n: string) => n.replace(/\^+/g, ' ').trim() || '(no name)';
const labelName = (l: string) => LESION_LABEL_NAMES[l] ?? l;

export function describeProvenance(f: Finding): string {
  const p = f.provenance;
  const who = p.changedBy ?? p.author;
  const model = p.model ? `${p.model.name} ${p.model.version}` : 'the model';
  switch (f.state) {
    case 'proposed':
      return `proposed by ${model}, not reviewed`;
    case 'accepted':
      return `proposed by ${model}, accepted${who ? ` by ${who}` : ''}`;
    case 'edited':
      return `proposed by ${model}, edited${who ? ` by ${who}` : ''}`;
    case 'added':
      return `drawn${who ? ` by ${who}` : ' by a reader'}`;
    case 'rejected':
      return `proposed by ${model}, rejected${who ? ` by ${who}` : ''}`;
  }
}

class Writer {
  page!: PDFPage;
  y = 0;
  readonly pages: PDFPage[] = [];
  readonly lost = { count: 0 };
  constructor(
    readonly doc: PDFDocument,
    readonly fonts: Fonts,
  ) {
    this.newPage();
  }
  get width(): number {
    return A4[0] - 2 * MARGIN;
  }
  newPage(): void {
    this.page = this.doc.addPage(A4);
    this.pages.push(this.page);
    this.y = A4[1] - MARGIN;
  }
  need(h: number): void {
    if (this.y - h < MARGIN + 24) this.newPage();
  }
  text(s: string, opts: { size?: number; bold?: boolean; colour?: [number, number, number]; indent?: number } = {}): void {
    const size = opts.size ?? BODY;
    const font = opts.bold ? this.fonts.bold : this.fonts.regular;
    const lineH = size * 1.35;
    const lines = wrap(font, size, pdfSafe(font, s, this.lost), this.width - (opts.indent ?? 0));
    // A short paragraph (a finding, a signature line) is kept on one page.
    if (lines.length <= 6) this.need(lines.length * lineH);
    for (const line of lines) {
      this.need(lineH);
      this.y -= lineH;
      if (line) this.page.drawText(line, { x: MARGIN + (opts.indent ?? 0), y: this.y, size, font, color: rgb(...(opts.colour ?? [0, 0, 0])) });
    }
  }
  heading(s: string): void {
    this.need(LINE * 3);
    this.y -= 8;
    this.text(s, { size: 11.5, bold: true, colour: [0.1, 0.2, 0.45] });
    this.page.drawLine({ start: { x: MARGIN, y: this.y - 3 }, end: { x: A4[0] - MARGIN, y: this.y - 3 }, thickness: 0.5, color: rgb(0.6, 0.65, 0.75) });
    this.y -= 6;
  }
  /** label/value rows in two columns (`wide`: one row across both); a long value wraps, never is cut */
  fields(rows: ([string, string] | { wide: [string, string] })[]): void {
    const colW = this.width / 2;
    const LABEL = 92;
    let i = 0;
    while (i < rows.length) {
      const first = rows[i];
      const cells: { k: string; v: string; x: number; w: number }[] = [];
      if ('wide' in first) {
        cells.push({ k: first.wide[0], v: first.wide[1], x: MARGIN, w: this.width });
        i++;
      } else {
        cells.push({ k: first[0], v: first[1], x: MARGIN, w: colW });
        const second = rows[i + 1];
        if (second && !('wide' in second)) {
          cells.push({ k: second[0], v: second[1], x: MARGIN + colW, w: colW });
          i += 2;
        } else i++;
      }
      const wrapped = cells.map((c) => wrap(this.fonts.regular, BODY, pdfSafe(this.fonts.regular, c.v, this.lost), c.w - LABEL - 8));
      const lines = Math.max(...wrapped.map((w) => w.length));
      this.need(LINE * lines);
      this.y -= LINE;
      cells.forEach((c, j) => {
        this.page.drawText(pdfSafe(this.fonts.bold, `${c.k}:`, this.lost), { x: c.x, y: this.y, size: BODY, font: this.fonts.bold });
        wrapped[j].forEach((line, l) => this.page.drawText(line, { x: c.x + LABEL, y: this.y - l * LINE, size: BODY, font: this.fonts.regular }));
      });
      this.y -= LINE * (lines - 1);
    }
  }
}

export async function buildPdf(input: ExportInput): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const fonts: Fonts = { regular: await doc.embedFont(StandardFonts.Helvetica), bold: await doc.embedFont(StandardFonts.HelveticaBold) };
  const sig = input.signature;
  const signed = verifiedSignature(sig);
  const title = `Chest X-ray report — ${fmtName(input.patient.name)} (${input.patient.id})`;
  doc.setTitle(pdfSafe(fonts.regular, title, { count: 0 }));
  doc.setSubject(signed ? 'Signed chest X-ray report' : 'Chest X-ray report draft, not signed');
  doc.setProducer(`${input.station.modelName} ${input.station.softwareVersion}`);
  doc.setCreator(`${input.station.modelName} ${input.station.softwareVersion}`);
  doc.setCreationDate(new Date(input.generatedAt));
  doc.setModificationDate(new Date(input.generatedAt));

  const w = new Writer(doc, fonts);
  w.text('Chest X-ray report', { size: 17, bold: true });
  w.text(`${input.station.modelName} ${input.station.softwareVersion} · exported ${input.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC')}`, { size: 8.5, colour: [0.35, 0.35, 0.35] });
  if (!signed) {
    w.y -= 6;
    w.need(26);
    w.page.drawRectangle({ x: MARGIN, y: w.y - 22, width: w.width, height: 22, color: rgb(0.98, 0.9, 0.9), borderColor: rgb(0.8, 0.15, 0.15), borderWidth: 1 });
    const why = sig.state === 'signed' ? (sig.amendmentOpen ? ' — an amendment is open' : ' — not what was signed') : '';
    w.page.drawText(pdfSafe(fonts.bold, `${DRAFT_MARK}${why}`, w.lost), { x: MARGIN + 8, y: w.y - 15.5, size: 11, font: fonts.bold, color: rgb(0.75, 0.1, 0.1) });
    w.y -= 26;
  }

  w.heading('Patient and study');
  w.fields([
    ['Patient name', fmtName(input.patient.name)],
    ['Patient ID', input.patient.id],
    ['Birth date', fmtDate(input.patient.birthDate)],
    ['Sex', input.patient.sex || '—'],
    ['Study date', fmtDate(input.study.studyDate)],
    ['Accession', input.study.accessionNumber || '—'],
    ['Study', input.study.description || '—'],
    ['Modality / view', `${input.source.modality ?? '—'} / ${input.source.viewPosition ?? '—'}`],
    { wide: ['Image', input.source.fileName] },
    { wide: ['Study UID', input.study.studyInstanceUid] },
  ]);

  const findings = reportedFindings(input);
  const rendered = renderKeyImage(input, findings);
  // The image goes in as an RGB image XObject deflated by Node's zlib: the same lossless Flate stream a PNG would
  // become in the PDF, without pdf-lib decoding a PNG and deflating it again in JavaScript (a second per export).
  const imageRef = doc.context.register(
    doc.context.stream(deflateSync(rendered.rgb, { level: 6 }), {
      Type: 'XObject',
      Subtype: 'Image',
      Width: rendered.width,
      Height: rendered.height,
      ColorSpace: 'DeviceRGB',
      BitsPerComponent: 8,
      Filter: 'FlateDecode',
    }),
  );
  w.heading('Key image');
  const maxH = 380;
  const fit = Math.min(w.width / rendered.width, maxH / rendered.height);
  const dw = rendered.width * fit;
  const dh = rendered.height * fit;
  w.need(dh + 30);
  const x0 = MARGIN + (w.width - dw) / 2;
  const y0 = w.y - 4 - dh;
  const imageName = w.page.node.newXObject('KeyImage', imageRef);
  w.page.pushOperators(pushGraphicsState(), concatTransformationMatrix(dw, 0, 0, dh, x0, y0), drawObject(imageName), popGraphicsState());
  for (const b of rendered.boxes) {
    // The box's number, on a tab at its top-left corner.
    const bx = x0 + b.x * fit;
    const by = y0 + dh - b.y * fit;
    const label = String(b.n);
    const tw = fonts.bold.widthOfTextAtSize(label, 8) + 4;
    w.page.drawRectangle({ x: bx, y: by, width: tw, height: 10, color: rgb(b.colour[0] / 255, b.colour[1] / 255, b.colour[2] / 255) });
    w.page.drawText(label, { x: bx + 2, y: by + 2, size: 8, font: fonts.bold, color: rgb(0, 0, 0) });
  }
  w.y = y0 - 4;
  const win = input.image.window;
  w.text(
    `Window ${win.name} (centre ${round(win.center)}, width ${round(win.width)}). ${layerLegend(findings.map((f) => f.state))}`,
    { size: 8, colour: [0.35, 0.35, 0.35] },
  );

  w.heading('AI reading');
  const a = input.analysis;
  if (a) {
    w.fields([
      ['Model', `${a.model.name} ${a.model.version}`],
      ['TB score', `${round(a.tbScore)} / 100${a.siteHead !== null ? ` (site-adapted, site head ${a.siteHead}; the model's own score ${round(a.baseTbScore)})` : ''}`],
      ['Threshold', a.threshold === null ? '—' : `${round(a.threshold)}, ${a.thresholdOrigin ?? 'pack default'} (score ${a.flagged ? 'at or above' : 'below'}: ${a.flagged ? 'flagged for TB' : 'not flagged'})`],
      ['Classification', a.label],
    ]);
  } else {
    w.text('The image has no AI reading.');
  }

  w.heading('Findings');
  if (!findings.length) {
    w.text('No findings are marked on the image.');
  }
  findings.forEach((f, i) => {
    const spacing = input.image.pixelSpacing;
    const size = spacing ? `${round(f.w * spacing[1])} x ${round(f.h * spacing[0])} mm` : `${Math.round(f.w)} x ${Math.round(f.h)} px`;
    const score = f.aiOriginal ? `, model score ${round(f.aiOriginal.score)}` : '';
    w.text(`${i + 1}. ${labelName(f.label)} — ${size} at (${Math.round(f.x)}, ${Math.round(f.y)}) px${score}; ${describeProvenance(f)}.`, { indent: 4 });
  });
  const rejected = input.annotations.findings.filter((f) => f.state === 'rejected').length;
  if (rejected) w.text(`${rejected} model proposal${rejected === 1 ? ' was' : 's were'} rejected by the reader and ${rejected === 1 ? 'is' : 'are'} not shown.`, { size: 8.5, colour: [0.35, 0.35, 0.35] });
  const edited = input.annotations;
  w.text(edited.version > 0 ? `Annotations: version ${edited.version}, saved by ${edited.author} at ${edited.savedAt}.` : "Annotations: the model's proposal; no reader has saved changes.", {
    size: 8.5,
    colour: [0.35, 0.35, 0.35],
  });

  w.heading('Report');
  if (input.report) {
    w.text(`Status: ${input.report.status}.`, { size: 8.5, colour: [0.35, 0.35, 0.35] });
    for (const s of input.report.sections) {
      w.y -= 3;
      w.text(s.title, { bold: true });
      w.text(s.text || '—');
    }
  } else {
    w.text('No report text exists for this case.');
  }

  w.heading('Signature');
  if (signed) {
    w.text(`Signed by ${signed.signerName} at ${signed.signedAt} (signature ${signed.sequence}).`, { bold: true });
    if (signed.contentSha256) w.text(`SHA-256 of the signed content: ${signed.contentSha256}`, { size: 8 });
  } else {
    const since = sig.state !== 'signed' ? '.' : sig.amendmentOpen ? `: an amendment is open since the signature by ${sig.signerName} at ${sig.signedAt}.` : `: this is not what ${sig.signerName} signed at ${sig.signedAt} (see the notes).`;
    w.text(DRAFT_MARK + since, { bold: true, colour: [0.75, 0.1, 0.1] });
  }

  const notes = [...input.notes];
  if (w.lost.count) notes.push(`${w.lost.count} character(s) this PDF's font cannot show are printed as '?'; the DICOM and JSON exports hold the exact text.`);
  if (notes.length) {
    w.heading('Notes');
    for (const n of notes) w.text(`• ${n}`, { size: 8.5 });
  }

  const total = w.pages.length;
  w.pages.forEach((p, i) => {
    if (!signed) {
      // A watermark across every page, over the image too, light enough to read through.
      p.drawText('DRAFT — NOT SIGNED', { x: 120, y: 250, size: 54, font: fonts.bold, color: rgb(0.85, 0.2, 0.2), opacity: 0.12, rotate: degrees(35) });
    }
    const footer = pdfSafe(fonts.regular, `${fmtName(input.patient.name)} · ${input.patient.id} · ${signed ? 'signed' : DRAFT_MARK} · page ${i + 1} of ${total}`, { count: 0 });
    p.drawText(footer, { x: MARGIN, y: MARGIN - 20, size: 7.5, font: fonts.regular, color: rgb(0.4, 0.4, 0.4) });
  });
  return doc.save({ useObjectStreams: false });
}

function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

