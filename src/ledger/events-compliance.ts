/**
 * The ledger events of the recording rules (issue 20): retention flags and
 * their removal with another person's approval, the random review and the
 * notices sent. Part of the one vocabulary in ./events.ts (which re-exports
 * it); split out only to keep that file readable.
 */
import type { RecordingSubject, StationSubject } from './subjects.js'

/** Who acted as a person: the police number (`account:<id>` for a service account). */
type Person = { person: string }

export type ComplianceVocabulary = {
  // retention flags (src/retention/flags.ts)
  /** A clerk set a retention flag (art. 13: permanent) with a reason. */
  'flag-set': { subject: RecordingSubject; payload: { flagId: number; recordingId: number; flag: string; reason: string } & Person }
  /** Someone asked for a flag's removal: it stays in force until another person approves. */
  'flag-removal-requested': { subject: RecordingSubject; payload: { flagId: number; recordingId: number; flag: string; reason: string } & Person }
  /** The removal request withdrawn or turned down: the flag stays. */
  'flag-removal-withdrawn': { subject: RecordingSubject; payload: { flagId: number; recordingId: number; flag: string; reason: string } & Person }
  /** A supervisor, another person than the setter and the requester, approved the removal: the flag no longer counts. */
  'flag-removed': {
    subject: RecordingSubject
    payload: { flagId: number; recordingId: number; flag: string; reason: string | null; setPerson: string; requestedPerson: string } & Person
  }

  // random review (src/review/)
  /** A supervisor drew a sample: N recordings per officer of a month, reproducible from the seed. */
  'review-sampled': {
    subject: StationSubject
    payload: { sampleId: number; month: string; perOfficer: number; seed: string; recordingIds: number[] } & Person
  }
  /** The outcome of one sampled recording. */
  'review-outcome': {
    subject: RecordingSubject
    payload: { sampleId: number; recordingId: number; outcome: string; note: string | null } & Person
  }

  // notices (src/notify/)
  /**
   * A notice delivered through one channel (webhook: a 2xx answer; smtp: the server took it): what and to whom (the
   * webhook's origin, the mail's recipients), never a secret; `digest` is the SHA-256 of the notice as rendered (its body).
   */
  'notice-sent': {
    subject: StationSubject
    payload: { kind: string; key: string; channel: string; to: string; subject: string; items: number; attempts: number; digest: string }
  }
}
