// Version 90: an uncompressed image's pixels are stored once.
//
// images.pixel_offset: when set, the image's stored values (rows * columns * 2 bytes, unsigned 16-bit little
// endian) are the bytes at this offset of the original file's blob (source_sha256), byte for byte, and there is no
// separate pixels blob. The importer sets it only after comparing the bytes; NULL (every earlier row, and every
// compressed or otherwise transformed image) keeps the pixels blob named by pixel_sha256.
import type { Database } from 'better-sqlite3';

export const version = 90;

export function migrate(db: Database): void {
  db.exec(`ALTER TABLE images ADD COLUMN pixel_offset INTEGER CHECK (pixel_offset IS NULL OR pixel_offset >= 0)`);
}
