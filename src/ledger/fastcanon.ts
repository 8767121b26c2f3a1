/**
 * A one-pass scanner that decides, without parsing into objects, whether a
 * JSON text is already in RFC 8785 (JCS) canonical form: no white space,
 * object keys in strictly increasing UTF-16 order (so no duplicates), strings
 * escaped exactly as JSON.stringify escapes them, numbers in ECMAScript
 * shortest form. Used by the ledger audit to hash a stored payload as is
 * instead of re-canonicalizing it (the slow part of a chain walk).
 *
 * Sound, not complete: `true` means canonicalize(JSON.parse(text)) === text;
 * `false` means it is not canonical OR the scanner does not decide (keys with
 * escapes, lone surrogates): callers then fall back to full canonicalization.
 * test/ledger-tree.test.ts checks the implication on generated inputs.
 *
 * Self-contained on purpose (no imports, no outer variables): the audit
 * worker threads get its source text via Function.prototype.toString.
 */
export function isCanonicalJson(text: string, from = 0, to = text.length): boolean {
  // Only text[from, to) is judged (one value exactly filling it); the scan may look past `to` but then answers false.
  const n = to
  let i = from
  let depth = 0
  let escaped = false
  // Runs of characters that never need a look: not a quote, backslash, control character or surrogate.
  const plain = /[^"\\\x00-\x1f\ud800-\udfff]*/y

  function literal(word: string): boolean {
    if (!text.startsWith(word, i)) return false
    i += word.length
    return true
  }

  function str(): boolean {
    // at the opening quote
    i++
    while (i < n) {
      plain.lastIndex = i
      plain.test(text)
      i = plain.lastIndex
      if (i >= n) return false
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return true
      }
      if (c < 0x20) return false
      if (c === 0x5c) {
        escaped = true
        const e = text.charCodeAt(i + 1)
        if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2
          continue
        }
        if (e === 0x75) {
          // JSON.stringify writes \u00XX (lower-case hex) only for control characters without a short form.
          const hex = text.slice(i + 2, i + 6)
          if (!/^00[01][0-9a-f]$/.test(hex)) return false
          const code = parseInt(hex, 16)
          if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return false
          i += 6
          continue
        }
        return false
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        // Only a high surrogate followed by a low one is a well-formed pair.
        if (c > 0xdbff) return false
        const d = text.charCodeAt(i + 1)
        if (!(d >= 0xdc00 && d <= 0xdfff)) return false
        i += 2
        continue
      }
      i++
    }
    return false
  }

  function num(): boolean {
    const start = i
    let digitsOnly = true
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c >= 0x30 && c <= 0x39) i++
      else if (c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) {
        digitsOnly = false
        i++
      } else break
    }
    const len = i - start
    // A plain non-negative integer below 10^15 without a leading zero is its own shortest form.
    if (digitsOnly && len <= 15 && (len === 1 || text.charCodeAt(start) !== 0x30)) return true
    const tok = text.slice(start, i)
    if (/^-?(?:0|[1-9][0-9]{0,14})$/.test(tok)) return tok !== '-0'
    if (!/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/.test(tok)) return false
    const v = Number(tok)
    return Number.isFinite(v) && String(v) === tok
  }

  function value(): boolean {
    const c = text.charCodeAt(i)
    if (c === 0x7b) {
      // {
      if (++depth > 200) return false
      i++
      if (text.charCodeAt(i) === 0x7d) {
        i++
        depth--
        return true
      }
      let prev: string | null = null
      for (;;) {
        if (text.charCodeAt(i) !== 0x22) return false
        const ks = i + 1
        escaped = false
        if (!str() || escaped) return false
        const key = text.slice(ks, i - 1)
        if (prev !== null && !(prev < key)) return false
        prev = key
        if (text.charCodeAt(i) !== 0x3a) return false
        i++
        if (!value()) return false
        const d = text.charCodeAt(i)
        if (d === 0x2c) {
          i++
          continue
        }
        if (d === 0x7d) {
          i++
          depth--
          return true
        }
        return false
      }
    }
    if (c === 0x5b) {
      // [
      if (++depth > 200) return false
      i++
      if (text.charCodeAt(i) === 0x5d) {
        i++
        depth--
        return true
      }
      for (;;) {
        if (!value()) return false
        const d = text.charCodeAt(i)
        if (d === 0x2c) {
          i++
          continue
        }
        if (d === 0x5d) {
          i++
          depth--
          return true
        }
        return false
      }
    }
    if (c === 0x22) return str()
    if (c === 0x74) return literal('true')
    if (c === 0x66) return literal('false')
    if (c === 0x6e) return literal('null')
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return num()
    return false
  }

  return value() && i === n
}

/**
 * isCanonicalJson on UTF-8 bytes: the same verdicts for the bytes of a
 * well-formed string (Buffer.from(text)), two to three times faster than on
 * the string (one loop, no closures, no strings made). The audit scans the
 * bytes it has just written for the event's hash, and only for an ASCII text
 * (as many bytes as UTF-16 units), where no surrogate can hide behind the
 * replacement character a lone one is written as. Strings: any byte from
 * 0x20 up but the quote and the backslash stands for itself. Keys compare
 * by their bytes, which is code-point order: it is UTF-16 order except where
 * a character from U+E000 to U+FFFF meets one above U+FFFF (lead bytes
 * 0xEE-0xEF against 0xF0-0xF4); that case is left undecided (false).
 * test/ledger-tree.test.ts checks it against isCanonicalJson.
 *
 * Self-contained on purpose, as isCanonicalJson.
 */
export function isCanonicalJsonBytes(b: Uint8Array, from = 0, to = b.length): boolean {
  // One loop, no closures: every position and open container in locals (the scanner runs a million times per audit).
  const n = to
  let i = from
  let depth = 0
  // Per open container: its closing byte, and for an object the previous key's [start, end).
  const closer: number[] = []
  const keyFrom: number[] = []
  const keyTo: number[] = []
  let wantKey = false
  for (;;) {
    if (wantKey) {
      // A key: a string without escapes, after the previous key in UTF-16 order, then a colon.
      if (b[i] !== 0x22) return false
      const ks = ++i
      while (i < n) {
        const c = b[i]!
        if (c === 0x22) break
        if (c < 0x20 || c === 0x5c) return false
        i++
      }
      if (i >= n) return false
      const ke = i++
      const p0 = keyFrom[depth - 1]!
      if (p0 !== -1) {
        const p1 = keyTo[depth - 1]!
        const m = Math.min(p1 - p0, ke - ks)
        let j = 0
        while (j < m && b[p0 + j] === b[ks + j]) j++
        if (j === m) {
          if (p1 - p0 >= ke - ks) return false
        } else {
          const x = b[p0 + j]!
          const y = b[ks + j]!
          // Code-point order is UTF-16 order but where U+E000..U+FFFF meets a character above U+FFFF: undecided.
          if ((x >= 0xee && x <= 0xef && y >= 0xf0) || (y >= 0xee && y <= 0xef && x >= 0xf0)) return false
          if (x > y) return false
        }
      }
      keyFrom[depth - 1] = ks
      keyTo[depth - 1] = ke
      if (b[i] !== 0x3a) return false
      i++
      wantKey = false
    }
    // A value.
    const c = b[i]
    if (c === 0x7b || c === 0x5b) {
      if (depth >= 200) return false
      i++
      const close = c === 0x7b ? 0x7d : 0x5d
      if (b[i] !== close) {
        closer[depth] = close
        keyFrom[depth] = -1
        depth++
        wantKey = c === 0x7b
        continue
      }
      i++
    } else if (c === 0x22) {
      i++
      for (;;) {
        if (i >= n) return false
        const d = b[i]!
        if (d === 0x22) break
        if (d === 0x5c) {
          const e = b[i + 1]
          if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
            i += 2
            continue
          }
          // \u00XX (lower-case hex) only for a control character without a short form, as JSON.stringify writes it.
          if (e !== 0x75 || b[i + 2] !== 0x30 || b[i + 3] !== 0x30) return false
          const h = b[i + 4]
          const l = b[i + 5]!
          if (h !== 0x30 && h !== 0x31) return false
          const lo = l >= 0x30 && l <= 0x39 ? l - 0x30 : l >= 0x61 && l <= 0x66 ? l - 0x57 : -1
          if (lo < 0) return false
          const code = (h - 0x30) * 16 + lo
          if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return false
          i += 6
          continue
        }
        if (d < 0x20) return false
        i++
      }
      i++
    } else if (c === 0x74) {
      if (b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return false
      i += 4
    } else if (c === 0x66) {
      if (b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return false
      i += 5
    } else if (c === 0x6e) {
      if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return false
      i += 4
    } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      const start = i
      let digitsOnly = true
      while (i < n) {
        const d = b[i]!
        if (d >= 0x30 && d <= 0x39) i++
        else if (d === 0x2d || d === 0x2b || d === 0x2e || d === 0x65 || d === 0x45) {
          digitsOnly = false
          i++
        } else break
      }
      const len = i - start
      // A plain non-negative integer below 10^15 without a leading zero is its own shortest form; else as isCanonicalJson.
      if (!(digitsOnly && len <= 15 && (len === 1 || b[start] !== 0x30))) {
        const tok = String.fromCharCode(...b.subarray(start, i))
        if (/^-?(?:0|[1-9][0-9]{0,14})$/.test(tok)) {
          if (tok === '-0') return false
        } else {
          if (!/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/.test(tok)) return false
          const v = Number(tok)
          if (!Number.isFinite(v) || String(v) !== tok) return false
        }
      }
    } else return false
    // After a value: a comma (then a key in an object), or closing brackets, or the end.
    for (;;) {
      if (depth === 0) return i === n
      const d = b[i]
      if (d === 0x2c) {
        i++
        wantKey = closer[depth - 1] === 0x7d
        break
      }
      if (d !== closer[depth - 1]) return false
      i++
      depth--
    }
  }
}
