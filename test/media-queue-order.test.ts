import { join } from 'node:path'
import t from 'tap'
import { getMediaInfo } from '../src/catalog/media-info.js'
import { claimNextJob, getJob, jobsOf, releaseCarried, requeueJob, type ClaimedJob, type MediaJob } from '../src/catalog/media-jobs.js'
import { silentLogger } from '../src/common/log.js'
import { JOB_PRIORITY } from '../src/media/policy.js'
import { MediaWorker } from '../src/media/worker.js'
import { defaultConfig, GAT947, makeCamera, station, tempDir } from './helpers.js'

// The claim order a station sees: after the probes, a proxy that is a
// stream copy is claimed before an audio transcode, and that before a video
// transcode, whatever order the camera's files were ingested in; a proxy
// waiting out its retry backoff is not claimed early for being cheap, and
// is claimed first once its time has come.

const root = tempDir(t, 'bv-morder-')
// H.264 clips with the H.265 and MJPEG clips and the WAV slotted between them (scripts/make-fake-camera).
const cam = await makeCamera(join(root, 'cam'), ['--count', '8'])
const s = station(t)
const ingest = await s.ingest(cam)
const me = { pid: process.pid, boot: 'test-boot' }
const worker = new MediaWorker({
  db: s.db,
  vault: s.vault,
  settings: { ...defaultConfig().media, nice: 0, concurrency: 1 },
  profiles: new Map([[GAT947.id, GAT947]]),
  stationTimezone: 'Asia/Shanghai',
  actor: 'station:test-station',
  logger: silentLogger(),
  kinds: ['probe'],
})
const probes = await worker.drain()

const proxies = ingest.ingested.map((r) => jobsOf(s.db, r.id).find((j) => j.kind === 'proxy')).filter((j): j is MediaJob => j !== undefined)
/** What the probe found decides the rank: copy 0, audio transcode 1, video transcode 2. */
const expectedRank = (j: MediaJob): number => {
  const i = getMediaInfo(s.db, j.recordingId)!
  if (i.videoCodec === null) return 1
  return i.videoCodec === 'h264' && i.audioCodec === 'aac' ? 0 : 2
}

t.test('the probes set each proxy rank from its plan', async (t) => {
  t.ok(
    probes.outcomes.every((o) => o.kind === 'probe' && o.outcome === 'done'),
    'every probe done',
  )
  t.ok(proxies.length >= 6, `${proxies.length} proxies queued`)
  for (const j of proxies) {
    const i = getMediaInfo(s.db, j.recordingId)!
    t.equal(getJob(s.db, j.id)!.rank, expectedRank(j), `${i.container} ${i.videoCodec ?? '-'}/${i.audioCodec ?? '-'}: rank ${expectedRank(j)}`)
  }
  // Else the order below would hold by job id alone and prove nothing.
  const byId = [...proxies].sort((a, b) => a.id - b.id).map(expectedRank)
  t.notSame(
    byId,
    [...byId].sort((a, b) => a - b),
    `the camera's ingest order mixes the kinds (${byId.join(' ')})`,
  )
})

t.test('cheap proxies are claimed first; a retry waits out its backoff whatever its rank', async (t) => {
  const now = new Date()
  const copies = proxies.filter((j) => expectedRank(j) === 0).sort((a, b) => a.id - b.id)
  // The first copy is claimed first, fails (a full disk) and waits 30 s, as the worker would leave it.
  const waiting = copies[0]!
  t.equal(claimNextJob(s.db, me, now, JOB_PRIORITY, ['proxy'])?.id, waiting.id, 'the oldest copy is claimed first')
  requeueJob(s.db, waiting.id, { error: 'FFMPEG_FAILED: No space left on device', nextAttemptAt: new Date(now.getTime() + 30_000).toISOString() }, now)
  const claimed: MediaJob[] = []
  for (;;) {
    const j = claimNextJob(s.db, me, now, JOB_PRIORITY, ['proxy'])
    if (!j) break
    claimed.push(j)
  }
  const expected = proxies
    .filter((j) => j.id !== waiting.id)
    .sort((a, b) => expectedRank(a) - expectedRank(b) || a.id - b.id)
    .map((j) => j.id)
  t.strictSame(
    claimed.map((j) => j.id),
    expected,
    'copies, then the audio transcode, then video transcodes, oldest first within each',
  )
  t.equal(getJob(s.db, waiting.id)!.state, 'queued', 'the retry is still waiting')
  const later = claimNextJob(s.db, me, new Date(now.getTime() + 31_000), JOB_PRIORITY, ['proxy'])
  t.equal(later?.id, waiting.id, 'once its backoff is over it is claimed')
  t.equal(later?.attempts, 2, 'as its second attempt')
})

t.test('a remux proxy carries its thumbnail: claimed with it, never alone while the proxy waits; handed back, it runs alone', async (t) => {
  // What would break the promise: a thumbnail of a remux recording claimed
  // by one worker while another makes it with the proxy (a duplicate), a
  // carried row left queued (never made), or one claimed without its count.
  const now = new Date()
  for (const j of proxies) requeueJob(s.db, j.id, { error: null, nextAttemptAt: now.toISOString(), refundAttempt: true }, now)
  const thumbOf = (recordingId: number): MediaJob | undefined => jobsOf(s.db, recordingId).find((j) => j.kind === 'thumbnail')
  const remux = proxies.filter((j) => expectedRank(j) === 0 && thumbOf(j.recordingId))
  t.ok(remux.length >= 3, `${remux.length} remux proxies with a thumbnail job`)
  for (const j of proxies)
    t.equal(
      getJob(s.db, j.id)!.carries,
      remux.includes(j) ? 'thumbnail' : null,
      `proxy job ${j.id} (rank ${expectedRank(j)}) carries ${remux.includes(j) ? 'its thumbnail' : 'nothing'}`,
    )

  // A claimer of thumbnails only has no proxy to carry them: it takes one alone, and that proxy then runs alone.
  const alone = claimNextJob(s.db, me, now, JOB_PRIORITY, ['thumbnail'])
  t.ok(alone, 'a thumbnails-only claimer takes a thumbnail')
  const claims: ClaimedJob[] = []
  for (;;) {
    const j = claimNextJob(s.db, me, now, JOB_PRIORITY)
    if (!j) break
    claims.push(j)
  }
  for (const j of claims) {
    if (j.kind === 'thumbnail')
      t.notOk(
        remux.some((p) => p.recordingId === j.recordingId),
        `thumbnail job ${j.id} claimed alone is not a remux recording's`,
      )
  }
  for (const p of remux) {
    const c = claims.find((j) => j.id === p.id)!
    const th = getJob(s.db, thumbOf(p.recordingId)!.id)!
    if (alone?.recordingId === p.recordingId) {
      t.equal(c.carried, undefined, 'the proxy whose thumbnail was taken alone runs alone')
      continue
    }
    t.equal(c.carried?.id, th.id, `proxy job ${p.id} claimed its thumbnail job ${th.id} with it`)
    t.strictSame(
      [th.state, th.workerPid, th.workerBoot, th.startedAt, th.attempts],
      ['running', me.pid, me.boot, c.startedAt, 1],
      'same claim, same start, the attempt counted',
    )
  }
  t.notOk(
    jobsOf(s.db, remux[0]!.recordingId).some((j) => j.state === 'queued'),
    'nothing of a carried pair is left queued',
  )

  // Handed back (a failed combined run): the thumbnail is its own job again, its attempt refunded.
  const pair = claims.find((j) => j.carried)!
  const thumbId = pair.carried!.id
  t.ok(releaseCarried(s.db, pair, now), 'handed back')
  t.equal(pair.carried, undefined, 'the carrier forgets it')
  t.strictSame([getJob(s.db, pair.id)!.carries, getJob(s.db, thumbId)!.state, getJob(s.db, thumbId)!.attempts], [null, 'queued', 0])
  t.equal(claimNextJob(s.db, me, now, JOB_PRIORITY)?.id, thumbId, 'and is claimed alone while its proxy still runs')
})
