import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { jobsOf } from '../src/catalog/media-jobs.js'
import { station, tempDir } from './helpers.js'

// A daemon's media worker claims the jobs an ingest queued as soon as the
// ingest commits, not at its next poll: the worker here polls once in ten
// minutes, so only the station's poke after the commit can start the jobs
// of the second camera within the test's time.

const root = tempDir(t, 'bv-media-wake-')

/** A camera folder holding one photo (its media jobs: probe, thumbnail). */
function camera(name: string, stamp: string): string {
  const dir = join(root, name)
  mkdirSync(join(dir, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(dir, 'DEVICE.TXT'), 'DEVICE=A1B2C3D\nOFFICER=012345\nMODEL=FAKE-GAT947\n')
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=320x240:d=1`],
    ...['-frames:v', '1', '-f', 'mjpeg', join(dir, 'DCIM', '100MEDIA', `A1B2C3D_012345_${stamp}_0001.JPG`)],
  ])
  return dir
}

async function until(what: string, ok: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  return Date.now() - t0
}

t.test('an ingest commit wakes an idle daemon worker: its jobs start at once, not at the next poll', async (t) => {
  const s = station(t)
  const w = s.st.mediaWorker({ pollMs: 600_000 })
  w.start()
  t.teardown(() => w.stop())
  const allDone = (ids: number[]): boolean => ids.every((id) => jobsOf(s.db, id).every((j) => j.state === 'done'))

  // The first camera: once its jobs are done the worker is surely idle, waiting out its 10-minute poll.
  const a = await s.ingest(camera('cam-a', '20261120080000'))
  t.equal(a.ingested.length, 1, 'first camera ingested')
  await until('the first camera done', () => allDone(a.ingested.map((r) => r.id)), 60_000)

  const b = await s.ingest(camera('cam-b', '20261120090000'))
  t.equal(b.ingested.length, 1, 'second camera ingested')
  const ids = b.ingested.map((r) => r.id)
  const claimedMs = await until('a job of the second camera claimed', () => ids.some((id) => jobsOf(s.db, id).some((j) => j.state !== 'queued')), 20_000)
  t.ok(claimedMs < 20_000, `claimed ${claimedMs} ms after the ingest returned (the poll would have waited 600 s)`)
  await until('the second camera done', () => allDone(ids), 60_000)
  t.ok(allDone(ids), 'its probe and thumbnail are done')
})
