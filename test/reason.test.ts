// What the ledger accepts as a reason (src/common/reason.ts): a table a
// records officer could read.
import t from 'tap'
import { isReason, reasonProblem } from '../src/common/reason.js'

const cases: [string, string, boolean][] = [
  ['case review', 'plain words', true],
  ['复核', 'two Chinese characters', true],
  ['案件复核', 'four Chinese characters', true],
  ['Fall 2026-117', 'a case reference', true],
  ['🚨 court', 'an emoji counts as a symbol', true],
  ['ab cd', 'four letters with a space', true],
  ['a.b-', 'punctuation is visible', true],
  ['ok👨‍👩‍👧', 'a zero-width joiner inside an emoji sequence', true],
  ['abc', 'three letters', false],
  ['复', 'one Chinese character', false],
  ['\u200b\u200b\u200b\u200b', 'four zero-width spaces', false],
  ['\u200b a \u200b', 'zero-width padding around one letter', false],
  ['\ufeff\ufeff\ufeff\ufeffx', 'byte-order marks', false],
  ['    ', 'spaces', false],
  ['\u3000\u3000\u3000\u3000', 'ideographic spaces', false],
  ['case\u0000review', 'a NUL', false],
  ['case\nreview', 'a newline', false],
  ['case\treview', 'a tab', false],
  ['case\u001b[31mreview', 'a terminal escape', false],
  ['case\u0085review', 'a C1 control', false],
  ['\u202eweiver esac', 'a right-to-left override', false],
  ['case \u2066review\u2069', 'a bidi isolate', false],
  ['\ud800case review', 'half a surrogate pair', false],
  ['', 'nothing', false],
]

t.test('reasons: a few visible characters, no control characters', async (t) => {
  for (const [text, what, ok] of cases) {
    t.equal(isReason(text), ok, `${what}: ${ok ? 'accepted' : 'refused'}`)
    if (!ok) t.type(reasonProblem(text), 'string', `${what}: says why`)
  }
})
