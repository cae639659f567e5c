// Synthetic DICOM files for benchmarks: a chest-radiograph-sized 16-bit image written with dcmjs.
import dcmjs from 'dcmjs';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** An uncompressed (explicit VR little endian) MONOCHROME2 image with 12 bits stored in 16. */
export function syntheticDicom(rows: number, columns: number, seed: number): Uint8Array {
  const pixels = new Uint16Array(rows * columns);
  // Smooth anatomy-like gradients plus noise, so that compression-free sizes and histograms are realistic.
  let s = seed * 2654435761;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const base = 1800 + 1200 * Math.sin((x / columns) * Math.PI) * Math.cos((y / rows) * 1.3);
      pixels[y * columns + x] = Math.max(0, Math.min(4095, Math.round(base + ((s >>> 16) & 63) - 32)));
    }
  }
  const uid = (n: number) => `2.25.${BigInt(seed) * 1000003n + BigInt(n)}`;
  const dataset = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
    SOPInstanceUID: uid(3),
    StudyInstanceUID: uid(1),
    SeriesInstanceUID: uid(2),
    PatientName: `BENCH^SEED${seed}`,
    PatientID: `BENCH${seed}`,
    StudyDate: '20261128',
    Modality: 'CR',
    BodyPartExamined: 'CHEST',
    ViewPosition: 'PA',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    PixelSpacing: [0.15, 0.15],
    WindowCenter: 2048,
    WindowWidth: 4096,
    RescaleSlope: 1,
    RescaleIntercept: 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OW' },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.1234567',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}
