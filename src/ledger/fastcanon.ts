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
