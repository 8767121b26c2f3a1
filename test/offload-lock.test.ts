// The eviction rule (src/offload/reconcile.ts lockCovers): a local copy may
// go only when the lock its remote version already has protects it for as
// long as the recording's current deadline asks. A table a lawyer can read.
import t from 'tap'
import { lockCovers } from '../src/offload/reconcile.js'

const d = (iso: string): Date => new Date(iso)

// [case, wanted lock, lock the remote version has, covered?]
const CASES: [string, { retainUntil: Date | null; legalHold: boolean }, { retainUntil: string | null; legalHold: boolean }, boolean][] = [
  ['same date', { retainUntil: d('2027-06-01T00:00:00Z'), legalHold: false }, { retainUntil: '2027-06-01T00:00:00.000Z', legalHold: false }, true],
  ['the lock runs longer', { retainUntil: d('2027-06-01T00:00:00Z'), legalHold: false }, { retainUntil: '2030-01-01T00:00:00.000Z', legalHold: false }, true],
  [
    'the deadline grew (a case closed late): extension pending',
    { retainUntil: d('2057-06-01T00:00:00Z'), legalHold: false },
    { retainUntil: '2027-06-01T00:00:00.000Z', legalHold: false },
    false,
  ],
  ['one second short', { retainUntil: d('2027-06-01T00:00:01Z'), legalHold: false }, { retainUntil: '2027-06-01T00:00:00.000Z', legalHold: false }, false],
  [
    'indefinite (open case, hold) but only a date on the version',
    { retainUntil: null, legalHold: true },
    { retainUntil: '2099-01-01T00:00:00.000Z', legalHold: false },
    false,
  ],
  ['indefinite, legal hold on the version', { retainUntil: null, legalHold: true }, { retainUntil: null, legalHold: true }, true],
  [
    'a date, legal hold still on (lifted only after the date is set)',
    { retainUntil: d('2057-06-01T00:00:00Z'), legalHold: false },
    { retainUntil: null, legalHold: true },
    true,
  ],
  ['a date, no lock at all on the version', { retainUntil: d('2027-06-01T00:00:00Z'), legalHold: false }, { retainUntil: null, legalHold: false }, false],
  ['deadline already past (purge due): nothing to protect', { retainUntil: null, legalHold: false }, { retainUntil: null, legalHold: false }, true],
]

t.test('a local copy is evicted only when the remote lock covers the current deadline', async (t) => {
  for (const [name, want, have, covered] of CASES) t.equal(lockCovers(want, have), covered, name)
})
