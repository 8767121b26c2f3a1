import t from 'tap'
import { kindOf, recordingFacts, segmentProblem } from '../src/camera/names.js'
import { GAT947, PROFILES } from './helpers.js'

t.test('GA/T 947 names give device, officer, local time in the camera zone, important mark', async (t) => {
  const f = recordingFacts('A1B2C3D_012345_20261120083015_0007_IMP.MP4', 0, GAT947)
  t.same(f, {
    deviceId: 'A1B2C3D',
    officerId: '012345',
    recordedAt: '2026-11-20T00:30:15.000Z',
    recordedOffset: '+08:00',
    recordedSource: 'filename',
    important: true,
  })
  const g = recordingFacts('A1B2C3D_012345_20260101000000_0001.MP4', 0, GAT947)
  t.equal(g.recordedAt, '2025-12-31T16:00:00.000Z', 'midnight local is the previous day in UTC')
  t.equal(g.important, false)
})

t.test('an impossible date in the name falls back to the file time, and says so', async (t) => {
  const mtime = Date.UTC(2026, 10, 20, 1, 2, 3)
  const f = recordingFacts('A1B2C3D_012345_20261340250000_0001.MP4', mtime, GAT947)
  t.equal(f.recordedSource, 'file-mtime')
  t.equal(f.recordedAt, '2026-11-20T01:02:03.000Z')
  t.equal(f.recordedOffset, '+08:00')
  t.equal(f.deviceId, 'A1B2C3D', 'the rest of the name still counts')
})

t.test('names that do not match use the docking identity and the file time', async (t) => {
  const f = recordingFacts('clip.mp4', Date.UTC(2026, 0, 1), GAT947, { deviceId: 'DEV0001', officerId: '999999' })
  t.same([f.deviceId, f.officerId, f.recordedSource, f.important], ['DEV0001', '999999', 'file-mtime', false])
  const d = recordingFacts('VID_20260701_120000.mp4', 0, PROFILES.get('generic-dcim')!, {})
  t.same([d.deviceId, d.recordedAt, d.recordedSource], [null, '2026-07-01T04:00:00.000Z', 'filename'])
})

t.test('a zone with daylight saving uses the offset of that instant', async (t) => {
  const p = { ...GAT947, timezone: 'Europe/Berlin' }
  t.equal(recordingFacts('A1B2C3D_012345_20260701120000_0001.MP4', 0, p).recordedOffset, '+02:00')
  t.equal(recordingFacts('A1B2C3D_012345_20260101120000_0001.MP4', 0, p).recordedOffset, '+01:00')
})

t.test('kinds and refused names', async (t) => {
  t.equal(kindOf('a.MP4', GAT947), 'video')
  t.equal(kindOf('a.wav', GAT947), 'audio')
  t.equal(kindOf('a.JPG', GAT947), 'photo')
  t.equal(kindOf('a.SRT', GAT947), 'sidecar')
  t.equal(kindOf('a.txt', GAT947), undefined)
  t.equal(segmentProblem('ok.MP4'), undefined)
  t.match(segmentProblem('.hidden'), /hidden/)
  t.match(segmentProblem('a\nb.mp4'), /control/)
  t.match(segmentProblem('a\u202eb.mp4'), /bidirectional/)
  t.match(segmentProblem('..'), /dot/)
  t.match(segmentProblem('a\\..\\b.mp4'), /separator/)
  t.match(segmentProblem('System Volume Information'), /system/)
})
