// Repair (issue 13): a flipped, truncated or removed object is restored from
// a good copy (a backup data dir named in fixity.repairFrom, or the verified
// S3 copy on Ceph RGW through the offload's own fetch-back), hashed on the
// way, and the request is served from it; the bad bytes are kept aside. What
// would make it false: serving the bad copy, "repairing" from a copy that is
// bad too, calling an evicted object a fault, or a derivative that escapes
// the check.
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import { getDerivative } from '../src/catalog/derivatives.js'
import { getObjectFixity } from '../src/catalog/fixity.js'
import { markEvicted } from '../src/catalog/remote-copies.js'
import { silentLogger } from '../src/common/log.js'
import type { FixitySettings } from '../src/fixity/settings.js'
import { subjects } from '../src/ledger/events.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { runOffloadOnce } from '../src/offload/worker.js'
import { openStation, type Station } from '../src/station/station.js'
import { BLOCK_BYTES } from '../src/vault/blocks.js'
import { ago, flipByte, getBody, MiB, randomCamera, truncateObject } from './fixity-support.js'
import { assertPinned, GAT947, tempDir, testConfig } from './helpers.js'
import { useS3Server } from './s3-support.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** A station of its own (config pinned), its API on a free port, a clerk's token. */
async function served(t: Test, o: { fixity?: Partial<FixitySettings>; offload?: { bucket: string }; env?: Record<string, string> } = {}) {
  const dir = tempDir(t, 'bv-fixity-')
  const base = testConfig(join(dir, 'data'))
  const config = {
    ...base,
    fixity: { ...base.fixity, ...o.fixity },
    offload: o.offload ? { bucket: o.offload.bucket, partSizeBytes: 5 << 20, multipartThresholdBytes: 5 << 20 } : null,
  }
  assertPinned(config, 'the fixity repair test')
  const st: Station = openStation({ config, logger: silentLogger(), env: o.env ?? {} })
  t.teardown(() => st.close())
  const app = await buildApi({
    db: st.db,
    vault: st.vault,
    logger: silentLogger(),
    station: st.cfg.station,
    policy: st.policy,
    openChecked: st.openChecked,
    rateLimitPerMinute: 100_000,
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const token = createToken(st.db, { name: 'clerk', role: 'clerk', actor: 'test' }).secret
  const get = (path: string, range?: string) => getBody(`${url}/v1/recordings/${path}`, { token, ...(range ? { range } : {}) })
  const original = (id: number, range?: string) => get(`${id}/original?reason=${encodeURIComponent('fixity repair test')}`, range)
  const events = (s: string, type: string) => eventsFor(st.db, subjects.object(s)).filter((e) => e.type === type)
  return { dir, st, get, original, events }
}

/** Waits until `ok()` (a background repair), up to 20 s. */
async function until(ok: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 50))
  return ok()
}

t.test('from a backup data dir: flipped, truncated and removed copies come back; a backup that is bad too is not used', async (t) => {
  const backup = join(tempDir(t), 'backup')
  const v = await served(t, { fixity: { repairFrom: [backup] } })
  const { ingested } = await v.st.ingest({ root: randomCamera(t, [2.5 * MiB, 2.5 * MiB, 2.5 * MiB, 700_000, 2.5 * MiB]), profile: GAT947 })
  const [a, b, c, d, e] = ingested
  cpSync(v.st.vault.objectsDir, join(backup, 'objects'), { recursive: true })
  const path = (s: string) => v.st.vault.objectPath(s)

  flipByte(path(a!.sha256), 1_500_000)
  truncateObject(path(b!.sha256), 100)
  rmSync(path(c!.sha256))
  for (const [r, problem] of [
    [a!, 'hash'],
    [b!, 'size'],
    [c!, 'missing'],
  ] as const) {
    const res = await v.original(r.id)
    t.equal(res.status, 200, `${problem}: served`)
    t.ok(res.complete, `${problem}: whole`)
    t.equal(sha(res.body), r.sha256, `${problem}: the served bytes are the recorded ones`)
    t.equal(sha(readFileSync(path(r.sha256))), r.sha256, `${problem}: the vault copy is good again`)
    t.match(v.events(r.sha256, 'fixity-failed'), [{ payload: { problem } }], `${problem}: reported`)
    const rep = v.events(r.sha256, 'object-repaired')
    t.match(
      rep,
      [{ payload: { from: 'backup', source: join(backup, 'objects', r.sha256.slice(0, 2), r.sha256), recordingIds: [r.id] } }],
      `${problem}: repaired from the backup`,
    )
    const aside = rep[0]?.payload.quarantined as string | null
    if (problem === 'missing') t.equal(aside, null, 'nothing to keep aside')
    else t.not(sha(readFileSync(aside!)), r.sha256, `${problem}: the bad bytes are kept in quarantine/`)
    t.equal(getObjectFixity(v.st.db, r.sha256)?.failedAt, null, `${problem}: no longer known bad`)
  }

  // The backup copy is bad as well: it must not be taken for a good one.
  flipByte(path(d!.sha256), 10)
  flipByte(join(backup, 'objects', d!.sha256.slice(0, 2), d!.sha256), 10)
  const refused = await v.original(d!.id)
  t.equal(refused.json?.error?.code, 'OBJECT_CORRUPT', 'a bad backup copy is not used: refused')
  t.same(v.events(d!.sha256, 'object-repaired'), [], 'and not called a repair')

  // A bad block found mid-stream: the response is cut, the repair runs behind it, the next read is whole.
  t.equal((await v.original(e!.id)).status, 200, 'served once: its block list is made')
  flipByte(path(e!.sha256), 2 * BLOCK_BYTES + 5)
  const cut = await v.original(e!.id)
  t.notOk(cut.complete, 'the read that reached the bad block is cut')
  t.ok(await until(() => v.events(e!.sha256, 'object-repaired').length === 1), 'repaired in the background')
  const again = await v.original(e!.id)
  t.ok(again.complete && sha(again.body) === e!.sha256, 'the next read is whole and good')
})

t.test('a derivative made by the media worker has its block list; a flipped thumbnail is never served', async (t) => {
  const v = await served(t)
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x480', '-frames:v', '1', join(cam, 'DCIM', `A1B2C3D_012345_${ago(1)}_0001.JPG`)])
  const [photo] = (await v.st.ingest({ root: cam, profile: GAT947 })).ingested
  await v.st.mediaWorker({ kinds: ['probe', 'thumbnail'] }).drain()
  const thumb = getDerivative(v.st.db, photo!.id, 'thumbnail')!
  t.ok(thumb, 'a thumbnail was made')
  t.equal(getObjectFixity(v.st.db, thumb.sha256)?.blocks?.length, 32, 'its block list was stored when it was made')
  t.equal((await v.get(`${photo!.id}/thumbnail`)).status, 200, 'served while good')
  flipByte(v.st.vault.objectPath(thumb.sha256), Math.floor(thumb.size / 2))
  const bad = await v.get(`${photo!.id}/thumbnail`)
  t.equal(bad.status, 503, 'a flipped thumbnail: refused')
  t.equal(bad.json?.error?.code, 'OBJECT_CORRUPT')
  t.match(v.events(thumb.sha256, 'fixity-failed'), [{ payload: { problem: 'block', block: 0 } }])
})

t.test('from the S3 copy (Ceph RGW), through the offload fetch-back', async (t) => {
  const { env } = await useS3Server(t, 'fixity-test')
  const bucket = `bv-fixity-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
  const v = await served(t, { offload: { bucket }, env })
  const { ingested } = await v.st.ingest({ root: randomCamera(t, [2.5 * MiB, 2.5 * MiB, 2.5 * MiB, 600_000, 600_000]), profile: GAT947 })
  const off = await runOffloadOnce(v.st.requireOffload())
  t.equal(off.verified.length, 5, 'all five uploaded, read back and verified')
  const [a, b, c, evicted, noCopy] = ingested
  const path = (s: string) => v.st.vault.objectPath(s)

  flipByte(path(a!.sha256), 2_000_000)
  truncateObject(path(b!.sha256), 2 * BLOCK_BYTES)
  rmSync(path(c!.sha256))
  for (const [r, problem] of [
    [a!, 'hash'],
    [b!, 'size'],
    [c!, 'missing'],
  ] as const) {
    const res = await v.original(r.id)
    t.ok(res.status === 200 && res.complete && sha(res.body) === r.sha256, `${problem}: served whole from the good copy`)
    t.match(v.events(r.sha256, 'object-repaired'), [{ payload: { from: 's3', source: new RegExp(`^s3://${bucket}/`) } }], `${problem}: repaired from S3`)
    t.equal(sha(readFileSync(path(r.sha256))), r.sha256, `${problem}: the local copy is good again`)
  }

  // Evicted on the record: fetched back as usual, not a fault.
  v.st.db.transaction(() => markEvicted(v.st.db, evicted!.sha256, new Date().toISOString()))()
  rmSync(path(evicted!.sha256))
  const back = await v.original(evicted!.id)
  t.ok(back.complete && sha(back.body) === evicted!.sha256, 'an evicted object is fetched back and served')
  t.same(v.events(evicted!.sha256, 'fixity-failed'), [], 'without a fixity failure')

  // No verified copy anywhere: reported and refused.
  v.st.db.prepare('UPDATE offload_objects SET verified_at = NULL WHERE sha256 = ?').run(noCopy!.sha256)
  flipByte(path(noCopy!.sha256), 1)
  t.equal((await v.original(noCopy!.id)).json?.error?.code, 'OBJECT_CORRUPT', 'without a good copy: refused')
  t.ok(existsSync(path(noCopy!.sha256)), 'the bad copy stays where it was (nothing better came)')
})
