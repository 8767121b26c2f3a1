/**
 * HTTP Range (RFC 9110 14.2) for one byte range of a file of `size` bytes.
 * Multiple ranges are not served as multipart: the first is honoured only
 * when it is the only one; otherwise the whole body is sent (allowed by the
 * RFC: a server may ignore Range).
 */
export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' } | { kind: 'invalid'; reason: string }

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || header === '') return { kind: 'full' }
  const m = /^bytes=(.+)$/i.exec(header.trim())
  if (!m) return { kind: 'invalid', reason: 'Range must look like bytes=START-END' }
  const specs = m[1]!.split(',').map((s) => s.trim())
  if (specs.length > 1) return { kind: 'full' }
  const spec = specs[0]!
  const r = /^(\d*)-(\d*)$/.exec(spec)
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'invalid', reason: `bad byte range "${spec}"` }
  if ((r[1] ?? '').length > 16 || (r[2] ?? '').length > 16) return { kind: 'unsatisfiable' }
  if (r[1] === '') {
    // suffix: the last N bytes
    const n = Number(r[2])
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(r[1])
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1)
  if (r[2] !== '' && Number(r[2]) < start) return { kind: 'invalid', reason: `range end before start in "${spec}"` }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end }
}
