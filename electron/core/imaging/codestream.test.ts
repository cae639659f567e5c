// The sizes compressed images declare, read from their headers without decoding: JPEG and JPEG-LS frame headers
// behind other segments and fill bytes, JPEG 2000 SIZ bare and inside a JP2 file, and streams with no readable header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { j2kImageSize, jpegFrameSize } from './codestream';
import { j2kClaiming, jpegClaiming } from '../../testing/bombs';

test('JPEG: the frame header after APPn segments and fill bytes; none before a scan or the end', () => {
  assert.deepEqual(jpegFrameSize(jpegClaiming(2500, 2000)), { width: 2500, height: 2000, components: 3 });
  const sof55 = new Uint8Array([0xff, 0xd8, 0xff, 0xff, 0xe0, 0x00, 0x04, 1, 2, 0xff, 0xf7, 0x00, 0x0b, 12, 0x07, 0xd0, 0x09, 0xc4, 1, 1, 0x11, 0]);
  assert.deepEqual(jpegFrameSize(sof55), { width: 2500, height: 2000, components: 1 }, 'JPEG-LS SOF55 after an APP0 and a fill byte');
  assert.equal(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 1, 2, 3, 4, 5, 6])), null, 'a scan before any frame header');
  assert.equal(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), null);
  assert.equal(jpegFrameSize(new Uint8Array([0x00, 0xd8, 0xff, 0xc0])), null, 'not a JPEG stream');
  assert.equal(jpegFrameSize(jpegClaiming(64, 64).subarray(0, 30)), null, 'cut before the frame header');
});

test('JPEG 2000: SIZ of a bare codestream and of one inside a JP2 file; the image offset is taken off', () => {
  assert.deepEqual(j2kImageSize(j2kClaiming(1841, 1955)), { width: 1841, height: 1955, components: 1 });
  const box = (type: string, body: Uint8Array) => {
    const b = Buffer.alloc(8 + body.length);
    b.writeUInt32BE(b.length, 0);
    b.write(type, 4, 'latin1');
    Buffer.from(body).copy(b, 8);
    return b;
  };
  const jp2 = Buffer.concat([box('jP  ', new Uint8Array([0x0d, 0x0a, 0x87, 0x0a])), box('ftyp', new Uint8Array(12)), box('jp2h', new Uint8Array(30)), box('jp2c', j2kClaiming(16384, 16384, 16))]);
  assert.deepEqual(j2kImageSize(jp2), { width: 16384, height: 16384, components: 1 });
  const offset = Buffer.from(j2kClaiming(1000, 800));
  offset.writeUInt32BE(100, 4 + 2 + 2 + 4 + 4); // XOsiz
  assert.equal(j2kImageSize(offset)?.width, 900);
  assert.equal(j2kImageSize(new Uint8Array(50)), null);
  assert.equal(j2kImageSize(Buffer.concat([box('jP  ', new Uint8Array([0x0d, 0x0a, 0x87, 0x0a])), box('ftyp', new Uint8Array(12))])), null, 'a JP2 file without a codestream');
});
