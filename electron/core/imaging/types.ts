// What the imaging service produces from a DICOM, PNG or JPEG file: one grayscale frame as unsigned 16-bit
// stored values, plus what is needed to display it (rescale, window presets, spacing) and to file it (UIDs).

export interface WindowPresetDef {
  name: string;
  /** centre and width in modality units (after rescale slope/intercept) */
  center: number;
  width: number;
}

/** Identity and context read from DICOM; absent for PNG/JPEG. */
export interface DicomAttributes {
  sopInstanceUid: string;
  sopClassUid: string | null;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientName: string;
  patientId: string;
  patientBirthDate: string | null;
  patientSex: string | null;
  studyDate: string | null;
  studyTime: string | null;
  accessionNumber: string | null;
  studyDescription: string | null;
  seriesDescription: string | null;
  seriesNumber: number | null;
  modality: string | null;
  bodyPartExamined: string | null;
  viewPosition: string | null;
  institutionName: string | null;
}

export interface DecodedImage {
  format: 'dicom' | 'png' | 'jpeg';
  rows: number;
  columns: number;
  /** significant bits of the stored values (8 to 16) */
  bitsStored: number;
  /**
   * rows * columns stored values, row-major; signed data is shifted to unsigned and the intercept adjusted. Read
   * only: for uncompressed 16-bit data that needs no change this is a view of the input bytes, not a copy.
   */
  pixels: Uint16Array;
  /** MONOCHROME1: the highest value displays black */
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** modality value = pixel * rescaleSlope + rescaleIntercept */
  rescaleSlope: number;
  rescaleIntercept: number;
  /** [row spacing, column spacing] in mm (Pixel Spacing, else Imager Pixel Spacing), null if absent or invalid */
  pixelSpacing: [number, number] | null;
  /** smallest and largest stored value in pixels */
  minPixel: number;
  maxPixel: number;
  /** window presets in modality units, the default first (from the file's VOI tags, else computed) */
  windows: WindowPresetDef[];
  /**
   * Uncompressed 16-bit little-endian DICOM: the byte offset, in the file as given, of the frame's stored values.
   * When those bytes equal `pixels` (no bits above Bits Stored, unsigned), the importer stores them only once.
   */
  sourcePixelOffset?: number | null;
  /** transfer syntax UID of a DICOM file, null otherwise */
  transferSyntax: string | null;
  dicom: DicomAttributes | null;
}
