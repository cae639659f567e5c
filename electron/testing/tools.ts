// The system tools some tests need (independent DICOM decoders and validators, the PDF reader, the archive), and the
// one way a test says it skips for want of one. `npm test` lists every skip at its end; a skip that says "missing
// tool:" fails the run under CI (CI=true), where scripts/install-system-packages.sh has installed them all.
import fs from 'node:fs';
import path from 'node:path';

/** The Debian package of each tool (all installed by scripts/install-system-packages.sh). */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  storescu: 'dcmtk',
  echoscu: 'dcmtk',
  dcmcjpeg: 'dcmtk',
  dsrdump: 'dcmtk',
  gdcmraw: 'libgdcm-tools',
  dciodvfy: 'dicom3tools',
  pdftotext: 'poppler-utils',
  pdfinfo: 'poppler-utils',
  pdfimages: 'poppler-utils',
  Orthanc: 'orthanc',
  python3: 'python3-torch python3-onnx python3-numpy python3-pil',
};

/** The words a skip for a missing tool starts with. */
export const MISSING_TOOL = 'missing tool:';

/** Is `tool` on PATH (or, given as an absolute path, there)? */
export function hasTool(tool: string): boolean {
  if (path.isAbsolute(tool)) return fs.existsSync(tool);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, tool)));
}

/** The skip reason for the tools among `tools` that are not installed, or false when all are. */
export function missingTools(...tools: string[]): string | false {
  const missing = tools.filter((t) => !hasTool(t));
  return missing.length ? missingToolReason(missing.map((t) => path.basename(t))) : false;
}

/** "missing tool: storescu, echoscu (Debian package dcmtk; scripts/install-system-packages.sh installs it)" */
export function missingToolReason(tools: string[], what?: string): string {
  const packages = [...new Set(tools.map((t) => TOOL_PACKAGES[t] ?? t))].join(' ');
  return `${MISSING_TOOL} ${what ?? tools.join(', ')} (Debian package${packages.includes(' ') ? 's' : ''} ${packages}; scripts/install-system-packages.sh installs ${packages.includes(' ') ? 'them' : 'it'})`;
}
