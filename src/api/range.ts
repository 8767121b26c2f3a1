/**
 * HTTP Range (RFC 9110 14.1-14.2) for one byte range of a file of `size` bytes.
 * Multiple ranges are not served as multipart: the first is honoured only
 * when it is the only one; otherwise the whole body is sent (allowed by the
 * RFC: a server may ignore Range). Positions of any length are read exactly
 * (digits beyond 2^53 are simply "past the end"): a last-pos past the end
 * means the end (14.1.2), a suffix longer than the file means the whole
 * file (14.1.3), and a non-empty suffix of an empty file is satisfiable, so
 * it gets the whole (empty) body.
 */
export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' } | { kind: 'invalid'; reason: string }

/** A run of digits as a number, or Infinity when it is beyond any file size (more than 15 digits). */
function position(digits: string): number {
  const d = digits.replace(/^0+(?=\d)/, '')
  return d.length > 15 ? Number.POSITIVE_INFINITY : Number(d)
}

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || header === '') return { kind: 'full' }
  const m = /^bytes=(.+)$/i.exec(header.trim())
  if (!m) return { kind: 'invalid', reason: 'Range must look like bytes=START-END' }
  const specs = m[1]!.split(',').map((s) => s.trim())
  if (specs.length > 1) return { kind: 'full' }
  const spec = specs[0]!
  const r = /^(\d*)-(\d*)$/.exec(spec)
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'invalid', reason: `bad byte range "${spec}"` }
  if (r[1] === '') {
    // suffix: the last N bytes
    const n = position(r[2]!)
    if (n === 0) return { kind: 'unsatisfiable' }
    if (size === 0) return { kind: 'full' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = position(r[1]!)
  const last = r[2] === '' ? Number.POSITIVE_INFINITY : position(r[2]!)
  if (last < start) return { kind: 'invalid', reason: `range end before start in "${spec}"` }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(last, size - 1) }
}
