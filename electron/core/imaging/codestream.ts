// The size a compressed image declares in its own header, read without decoding anything: the frame header (SOFn)
// of JPEG and JPEG-LS, the image and tile size marker (SIZ) of JPEG 2000 and HTJ2K, bare or inside a JP2 file.
// A decoder allocates what this header says, whatever the file around it claims, so a 100 KB file whose header
// says 16384 x 16384 would cost gigabytes: the callers compare it with their limits (and a DICOM file's Rows and
// Columns) before a single pixel is decoded.

export interface DeclaredSize {
  width: number;
  height: number;
  /** samples per pixel (colour components) */
  components: number;
}

const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** SOF markers that carry a frame header: every SOFn (C0-CF) except DHT (C4), JPG (C8) and DAC (CC); and JPEG-LS's SOF55 (F7). */
function isFrameHeader(marker: number): boolean {
  return (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
}

/**
 * The frame header of a JPEG or JPEG-LS stream (starting with SOI), or null when there is none before the first scan
 * or the end. A height of 0 (defined later by a DNL marker) is returned as 0 for the caller to refuse.
 */
export function jpegFrameSize(b: Uint8Array): DeclaredSize | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // markers without a length: TEM, RSTn, SOI, EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      if (marker === 0xd9) return null;
      at += 2;
      continue;
    }
    const length = u16(b, at + 2);
    if (length < 2) return null;
    if (isFrameHeader(marker)) {
      if (at + 10 > b.length) return null;
      return { height: u16(b, at + 5), width: u16(b, at + 7), components: b[at + 9] };
    }
    if (marker === 0xda) return null; // a scan before any frame header
    at += 2 + length;
  }
  return null;
}

/** The SIZ marker of a JPEG 2000 / HTJ2K codestream (SOC, then SIZ), or inside a JP2 file's contiguous codestream box. */
export function j2kImageSize(b: Uint8Array): DeclaredSize | null {
  let at = 0;
  if (b.length >= 12 && u32(b, 0) === 12 && u32(b, 4) === 0x6a502020) {
    // JP2 boxes: find 'jp2c', the codestream
    at = -1;
    for (let p = 0; p + 8 <= b.length; ) {
      let size = u32(b, p);
      const type = u32(b, p + 4);
      let header = 8;
      if (size === 1) {
        if (p + 16 > b.length) return null;
        const hi = u32(b, p + 8);
        if (hi !== 0) return null; // a box over 4 GB
        size = u32(b, p + 12);
        header = 16;
      } else if (size === 0) size = b.length - p;
      if (type === 0x6a703263) {
        at = p + header;
        break;
      }
      if (size < header) return null;
      p += size;
    }
    if (at < 0) return null;
  }
  // SOC (FF4F), then SIZ (FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz
  if (at + 42 > b.length || b[at] !== 0xff || b[at + 1] !== 0x4f || b[at + 2] !== 0xff || b[at + 3] !== 0x51) return null;
  const s = at + 4;
  const xsiz = u32(b, s + 4);
  const ysiz = u32(b, s + 8);
  const xo = u32(b, s + 12);
  const yo = u32(b, s + 16);
  if (xo >= xsiz || yo >= ysiz) return { width: 0, height: 0, components: u16(b, s + 36) };
  return { width: xsiz - xo, height: ysiz - yo, components: u16(b, s + 36) };
}
