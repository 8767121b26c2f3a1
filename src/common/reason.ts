/**
 * What counts as a reason: the text the ledger keeps for why footage was
 * read, exported, held or recategorised. It must say something a person can
 * read: at least 4 visible characters, where a Chinese, Japanese or Korean
 * character counts as 2 (复核 says as much as "review"), and no control
 * characters (NUL, newlines, escapes) or bidi overrides that could hide or
 * reorder what a reader sees, nor half a character (a lone surrogate). Zero-width characters may join visible ones
 * but never count; letters, digits, punctuation and symbols do.
 */
export const MIN_REASON_WEIGHT = 4

const FORBIDDEN = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/gu
const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u

/** Why `text` is not a usable reason, or undefined when it is. */
export function reasonProblem(text: string): string | undefined {
  if (FORBIDDEN.test(text)) return 'it holds control characters, bidi overrides or broken Unicode'
  let weight = 0
  for (const [c] of text.matchAll(VISIBLE)) weight += WIDE.test(c) ? 2 : 1
  if (weight < MIN_REASON_WEIGHT) return `it needs at least ${MIN_REASON_WEIGHT} visible characters (2 Chinese characters)`
  return undefined
}

export function isReason(text: string): boolean {
  return reasonProblem(text) === undefined
}
