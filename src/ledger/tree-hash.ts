/**
 * The two fixed-size hashes of an RFC 6962 tree (section 2.1), SHA-256
 * (FIPS 180-4) in TypeScript: a leaf hash of a stored event hash,
 * SHA-256(0x00 || 32 bytes), one compression; a node hash,
 * SHA-256(0x01 || 32 bytes || 32 bytes), two. The ledger audit makes two
 * of them per event: through node:crypto each is a call that costs more
 * than the compressions (about 1.5 us against 0.6 us per block, measured on
 * the 2-core machine), and each returns a fresh Buffer. Here the padding
 * and length are laid once, nothing is allocated per hash, and the result
 * is written where the caller keeps it. node:crypto still hashes every
 * event's text (any length, SHA-NI). test/tree-hash.test.ts checks both
 * against node:crypto and the RFC 6962 tree vectors.
 *
 * Self-contained on purpose (no imports, no outer variables): the audit
 * worker threads get its source text via Function.prototype.toString.
 */
export function treeHasher(): {
  /** out[o, o + 32) = SHA-256(0x00 || src[at, at + 32)). */
  leaf: (src: Uint8Array, at: number, out: Uint8Array, o: number) => void
  /** out[o, o + 32) = SHA-256(0x01 || l[lo, lo + 32) || r[ro, ro + 32)); out may be l or r. */
  node: (l: Uint8Array, lo: number, r: Uint8Array, ro: number, out: Uint8Array, o: number) => void
} {
  const K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
    0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
    0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
    0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ])
  const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
  const W = new Int32Array(64)
  const S = new Int32Array(8)
  // The padded messages: prefix byte, data, 0x80, zeros, the length in bits (big-endian): only the data changes.
  const leafMsg = new Uint8Array(64)
  leafMsg[33] = 0x80
  leafMsg[62] = (33 * 8) >> 8
  leafMsg[63] = (33 * 8) & 0xff
  const nodeMsg = new Uint8Array(128)
  nodeMsg[0] = 1
  nodeMsg[65] = 0x80
  nodeMsg[126] = (65 * 8) >> 8
  nodeMsg[127] = (65 * 8) & 0xff

  function compress(m: Uint8Array, off: number): void {
    for (let i = 0; i < 16; i++) {
      const p = off + 4 * i
      W[i] = (m[p]! << 24) | (m[p + 1]! << 16) | (m[p + 2]! << 8) | m[p + 3]!
    }
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15]!
      const y = W[i - 2]!
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
      W[i] = (s1 + W[i - 7]! + s0 + W[i - 16]!) | 0
    }
    let a = S[0]!
    let b = S[1]!
    let c = S[2]!
    let d = S[3]!
    let e = S[4]!
    let f = S[5]!
    let g = S[6]!
    let h = S[7]!
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0
      h = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    S[0] = (S[0]! + a) | 0
    S[1] = (S[1]! + b) | 0
    S[2] = (S[2]! + c) | 0
    S[3] = (S[3]! + d) | 0
    S[4] = (S[4]! + e) | 0
    S[5] = (S[5]! + f) | 0
    S[6] = (S[6]! + g) | 0
    S[7] = (S[7]! + h) | 0
  }

  function digest(out: Uint8Array, o: number): void {
    for (let i = 0; i < 8; i++) {
      const w = S[i]!
      out[o + 4 * i] = w >>> 24
      out[o + 4 * i + 1] = (w >>> 16) & 0xff
      out[o + 4 * i + 2] = (w >>> 8) & 0xff
      out[o + 4 * i + 3] = w & 0xff
    }
  }

  return {
    leaf(src, at, out, o) {
      for (let i = 0; i < 32; i++) leafMsg[1 + i] = src[at + i]!
      S.set(IV)
      compress(leafMsg, 0)
      digest(out, o)
    },
    node(l, lo, r, ro, out, o) {
      for (let i = 0; i < 32; i++) nodeMsg[1 + i] = l[lo + i]!
      for (let i = 0; i < 32; i++) nodeMsg[33 + i] = r[ro + i]!
      S.set(IV)
      compress(nodeMsg, 0)
      compress(nodeMsg, 64)
      digest(out, o)
    },
  }
}
