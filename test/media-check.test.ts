// Media's part of verify asks the catalog only for the recordings that are not
// stored (src/catalog/recordings.ts recordingsNotStored), not for every status.
// The threat: a derivative of a stored recording excused (its object no longer
// required, so a missing proxy goes unseen), or one of a purged recording
// required (a false problem after every purge). The first and the last
// recording of the range are purged, the one between stays stored.
import t from 'tap'
import { setRecordingStatus } from '../src/catalog/recordings.js'
import { checkMediaCatalog } from '../src/media/check.js'
import { station } from './helpers.js'
import { appendForeignEvent, seedIngested } from './ledger-support.js'

const shaOf = (id: number): string => `d${id.toString(16).padStart(63, '0')}`

t.test("a derivative's object is required while its recording is stored, and only then", async (t) => {
  const s = station(t)
  const ids = [1, 2, 3]
  seedIngested(s, ids)
  for (const id of ids)
    appendForeignEvent(s.db, {
      type: 'derived',
      actor: 'station:test',
      subject: `recording:${id}`,
      payload: {
        derivativeId: 10 + id,
        recordingId: id,
        kind: 'proxy',
        sha256: shaOf(id),
        size: 100 + id,
        mimeType: 'video/mp4',
        inputSha256: id.toString(16).padStart(64, '0'),
        ffmpegVersion: null,
        args: [],
      },
    })
  const before = checkMediaCatalog(s.db)
  t.same([...before.needed.keys()].sort(), ids.map(shaOf).sort(), 'all three stored: every proxy is required')
  t.same(
    before.notes.filter((n) => n.includes('not required')),
    [],
    'no proxy excused',
  )

  setRecordingStatus(s.db, 1, 'purged')
  setRecordingStatus(s.db, 3, 'purged')
  const after = checkMediaCatalog(s.db)
  t.same([...after.needed.keys()], [shaOf(2)], "only the stored recording's proxy is required")
  t.same(after.needed.get(shaOf(2))?.size, 102, 'at its recorded size')
  t.same(
    after.notes.filter((n) => n.includes('not required')).sort(),
    [
      'derivative:11 (proxy of recording:1): the recording is purged; its derivative object is not required',
      'derivative:13 (proxy of recording:3): the recording is purged; its derivative object is not required',
    ],
    'the first and the last, purged, are excused by name',
  )
  t.same([...after.objectShas].sort(), ids.map(shaOf).sort(), 'every proxy the ledger names is still known (not "unreferenced")')
})
