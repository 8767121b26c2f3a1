/**
 * File names as the camera wrote them. On Linux a name is bytes: a vfat
 * camera mounted without `utf8` gives GBK bytes for 重要, a broken card
 * gives bytes that are no encoding at all, and any name may hold a newline
 * or bidirectional controls. bodyvault keeps the bytes (the raw name,
 * stored as base64) and shows a display form: UTF-8 when the bytes are
 * UTF-8, else GB18030 (GBK's superset, what Chinese cameras write) when
 * they decode as that, else UTF-8 with each undecodable byte written
 * `\xHH`. Control and bidirectional characters and the back-slash itself
 * are escaped in the display form, so it is one safe line of text. Pure.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true })
const gb18030 = new TextDecoder('gb18030', { fatal: true })

/** The display form of one name (a path segment). */
export function displayName(raw: Uint8Array): string {
  let text: string
  try {
    text = utf8.decode(raw)
  } catch {
    try {
      text = gb18030.decode(raw)
    } catch {
      return escapeBytes(raw)
    }
  }
  return escapeText(text)
}

/** The display form of a '/'-separated raw path (each segment on its own). */
export function displayPath(raw: Uint8Array): string {
  const out: string[] = []
  let start = 0
  for (let i = 0; i <= raw.length; i++) {
    if (i === raw.length || raw[i] === 0x2f) {
      out.push(displayName(raw.subarray(start, i)))
      start = i + 1
    }
  }
  return out.join('/')
}

/** Why a raw name may not be used as a path segment under the camera root, or undefined: only path tricks are refused. */
export function pathTrick(raw: Uint8Array): string | undefined {
  if (raw.length === 0) return 'path trick: empty name'
  if (raw.length === 1 && raw[0] === 0x2e) return 'path trick: "."'
  if (raw.length === 2 && raw[0] === 0x2e && raw[1] === 0x2e) return 'path trick: ".."'
  if (raw.includes(0x2f)) return 'path trick: "/" inside a name'
  if (raw.includes(0)) return 'path trick: NUL inside a name'
  return undefined
}

/** Joins raw segments with '/'. */
export function joinRaw(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? Buffer.from(name) : Buffer.concat([parent, Buffer.from('/'), name])
}

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069])

function escapeText(s: string): string {
  let out = ''
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '\\') out += '\\\\'
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`
    else if ((c >= 0x80 && c <= 0x9f) || BIDI.has(c) || c === 0x2028 || c === 0x2029 || c === 0xfeff) out += `\\u${c.toString(16).padStart(4, '0')}`
    else out += ch
  }
  return out
}

/** UTF-8 where the bytes are UTF-8, `\xHH` for every byte that is not part of a valid sequence. */
function escapeBytes(raw: Uint8Array): string {
  let out = ''
  let i = 0
  while (i < raw.length) {
    const n = utf8SequenceLength(raw, i)
    if (n > 0) {
      out += escapeText(Buffer.from(raw.subarray(i, i + n)).toString('utf8'))
      i += n
    } else {
      out += `\\x${raw[i]!.toString(16).padStart(2, '0')}`
      i++
    }
  }
  return out
}

/** Length of the valid UTF-8 sequence at i (RFC 3629: no overlongs, no surrogates, at most U+10FFFF), or 0. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!
  if (c < 0x80) return 1
  const cont = (k: number): boolean => i + k < b.length && (b[i + k]! & 0xc0) === 0x80
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0
    const c1 = b[i + 1]!
    if (c === 0xe0 && c1 < 0xa0) return 0
    if (c === 0xed && c1 >= 0xa0) return 0
    return 3
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0
    const c1 = b[i + 1]!
    if (c === 0xf0 && c1 < 0x90) return 0
    if (c === 0xf4 && c1 >= 0x90) return 0
    return 4
  }
  return 0
}
