// Reconciliation rules, through real ingest sessions of small generated
// camera folders (no ffmpeg: content with an MP4 head). What would make
// them lie: a counter that went back (a reset camera, another camera's
// files) passing unnoticed, a camera clock ahead of the station unflagged,
// a file that failed to copy (still on the camera) reported as deleted,
// an empty roster breaking ingest.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { getFinding, listFindings } from '../src/catalog/findings.js'
import { ranges, reconcileSession } from '../src/registry/reconcile.js'
import { MP4_HEAD, writeContent } from './camera-files.js'
import { station, tempDir } from './helpers.js'

let seed = 1
function camera(dir: string, files: { seq: number; at: string }[]): string {
  mkdirSync(join(dir, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(dir, 'DEVICE.TXT'), 'DEVICE=A1B2C3D\n')
  for (const f of files) writeContent(join(dir, 'DCIM', '100MEDIA', `A1B2C3D_012345_${f.at}_${String(f.seq).padStart(4, '0')}.MP4`), 50_000, seed++, MP4_HEAD)
  return dir
}

t.test('ranges: missing numbers as the supervisor reads them', async (t) => {
  t.same(ranges([4]), ['4'])
  t.same(ranges([2, 3, 4, 7, 9, 10]), ['2-4', '7', '9-10'])
  t.same(ranges([]), [])
})

t.test('a counter that goes back, a clock ahead, a failed file: each said as it is, with an empty roster', async (t) => {
  const s = station(t)
  const dir = tempDir(t)
  const r1 = await s.ingest(
    camera(
      join(dir, 'one'),
      [1, 2, 3].map((seq) => ({ seq, at: `20261120080${seq}00` })),
    ),
  )
  t.equal(r1.state, 'complete')
  t.same(listFindings(s.db), [], 'an unregistered camera with no gap: nothing to say')
  // The camera was reset: its counter starts again at 2 (other content), then 4; one clip is dated in 2030.
  const r2 = await s.ingest(
    camera(join(dir, 'two'), [
      { seq: 2, at: '20261120090000' },
      { seq: 4, at: '20261120090500' },
      { seq: 5, at: '20300101000000' },
    ]),
  )
  t.equal(r2.ingested.length, 3)
  const found = listFindings(s.db, { kind: 'reconciliation' })
  t.same(found.map((f) => f.code).sort(), ['clock-ahead', 'counter-repeat', 'dated-before-last-docking'])
  t.match(
    found.find((f) => f.code === 'counter-repeat'),
    { deviceNumber: 'A1B2C3D', detail: { repeated: [2] } },
  )
  t.match(found.find((f) => f.code === 'clock-ahead')!.message, /runs ahead of the station's/)
  t.notOk(
    found.some((f) => f.code === 'counter-gap'),
    '4 follows 3: no gap',
  )
  const attributed = s.db.prepare('SELECT officer_source AS source, file_counter AS n FROM recording_attribution ORDER BY recording_id').all() as {
    source: string
    n: number
  }[]
  t.same(
    attributed.map((a) => `${a.source}:${a.n}`),
    ['file-name:1', 'file-name:2', 'file-name:3', 'file-name:2', 'file-name:4', 'file-name:5'],
    "the camera's officer and counter are kept for every recording",
  )

  // Docking 3 brings 6 and 8: 7 is missing.
  const r3 = await s.ingest(
    camera(join(dir, 'three'), [
      { seq: 6, at: '20261120100000' },
      { seq: 8, at: '20261120101000' },
    ]),
  )
  const gaps = listFindings(s.db, { kind: 'reconciliation' }).filter((f) => f.code === 'counter-gap')
  t.match(gaps, [{ sessionId: r3.sessionId, detail: { missing: [7], previousMax: 5, sessionMax: 8 } }])
  // Had 7 failed to copy (still on the camera: the station passes the counters of failed files), it would be no gap.
  const again = reconcileSession(
    s.db,
    'station:test-station',
    { sessionId: r3.sessionId, listedAt: r3.listedAt, failedCounters: [7] },
    { clockToleranceSec: 300, now: new Date() },
  )
  t.notOk(
    again.some((id) => getFinding(s.db, id)?.code === 'counter-gap'),
    'a failed file is no gap',
  )
  const events = s.db.prepare("SELECT count(*) FROM events WHERE type = 'finding-raised'").pluck().get() as number
  t.equal(events, listFindings(s.db).length, 'every finding has its ledger event')
})
