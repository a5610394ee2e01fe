/** The size of a PNG from its IHDR chunk; throws when the bytes are not a PNG (signature, IHDR first). */
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (signature)');
  if (bytes.subarray(12, 16).toString('ascii') !== 'IHDR') throw new Error('not a PNG (no IHDR first)');
  const end = bytes.subarray(bytes.length - 8, bytes.length - 4).toString('ascii');
  if (end !== 'IEND') throw new Error('truncated PNG (no IEND at the end)');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
