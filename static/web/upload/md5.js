// MD5 (RFC 1321) in plain JavaScript. WebCrypto has no MD5, and an S3 that checks no SHA-256
// (Ceph RGW) checks a part's Content-MD5 instead: the part URL signs it, so the store refuses
// other bytes. Incremental, so that a part is hashed a slice at a time from the disk, never
// held in memory whole. MD5 is no defence against a forger here, only against damage on the
// way: who may write is decided by the signed URL.

// Per-step left rotations and the constants floor(abs(sin(i + 1)) * 2^32) of RFC 1321, 3.4.
const SHIFTS = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
const CONSTANTS = Int32Array.from([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);
// Which message word each step reads.
const WORD = Uint8Array.from({ length: 64 }, (_, i) => {
  if (i < 16) return i;
  if (i < 32) return (5 * i + 1) % 16;
  if (i < 48) return (3 * i + 5) % 16;
  return (7 * i) % 16;
});
const READ_CHUNK = 4 * 1024 * 1024; // bytes read from the disk at a time

export class Md5 {
  constructor() {
    this.state = Int32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
    this.pending = new Uint8Array(64); // the start of a block not yet complete
    this.pendingLength = 0;
    this.length = 0; // bytes hashed so far (exact as a Number up to 2^53)
    this.words = new Int32Array(16);
  }

  update(bytes) {
    let offset = 0;
    this.length += bytes.length;
    if (this.pendingLength) {
      offset = Math.min(64 - this.pendingLength, bytes.length);
      this.pending.set(bytes.subarray(0, offset), this.pendingLength);
      this.pendingLength += offset;
      if (this.pendingLength < 64) return this;
      this.block(this.pending, 0);
      this.pendingLength = 0;
    }
    for (; offset + 64 <= bytes.length; offset += 64) this.block(bytes, offset);
    if (offset < bytes.length) {
      this.pending.set(bytes.subarray(offset));
      this.pendingLength = bytes.length - offset;
    }
    return this;
  }

  block(bytes, offset) {
    const { words, state } = this;
    for (let i = 0, j = offset; i < 16; i += 1, j += 4) {
      words[i] = bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24);
    }
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];
    for (let i = 0; i < 64; i += 1) {
      let mixed;
      if (i < 16) mixed = (b & c) | (~b & d);
      else if (i < 32) mixed = (d & b) | (~d & c);
      else if (i < 48) mixed = b ^ c ^ d;
      else mixed = c ^ (b | ~d);
      const sum = (a + mixed + CONSTANTS[i] + words[WORD[i]]) | 0;
      const shift = SHIFTS[i];
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }

  // The 16-byte digest; the hash takes no more bytes afterwards.
  digest() {
    const bits = this.length * 8;
    const padding = new Uint8Array((this.pendingLength < 56 ? 56 : 120) - this.pendingLength + 8);
    padding[0] = 0x80;
    const view = new DataView(padding.buffer);
    view.setUint32(padding.length - 8, bits % 2 ** 32, true);
    view.setUint32(padding.length - 4, Math.floor(bits / 2 ** 32), true);
    this.update(padding);
    const out = new Uint8Array(16);
    const outView = new DataView(out.buffer);
    this.state.forEach((word, index) => outView.setInt32(index * 4, word, true));
    return out;
  }
}

export function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function md5Hex(bytes) {
  return toHex(new Md5().update(bytes).digest());
}

// The MD5 of a Blob (a File or a slice of one), read READ_CHUNK bytes at a time.
export async function md5HexOfBlob(blob) {
  const hash = new Md5();
  for (let start = 0; start < blob.size; start += READ_CHUNK) {
    const chunk = blob.slice(start, Math.min(blob.size, start + READ_CHUNK));
    hash.update(new Uint8Array(await chunk.arrayBuffer()));
  }
  return toHex(hash.digest());
}
