// The bucket as the station's last copy (issue 24), against Ceph RGW with
// Object Lock: manifests cannot be deleted quietly (a legal hold; a plain
// S3 client is refused), a rebuild notices what was deleted or hidden
// anyway, a lock change waiting out an outage keeps the local copy, and an
// evicted object comes back by hand with its event.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DeleteObjectCommand, GetObjectLegalHoldCommand, S3Client } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import { DateTime } from 'luxon'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { offloadSettings, type OffloadSettings } from '../src/offload/config.js'
import type { OffloadDeps } from '../src/offload/context.js'
import { keys } from '../src/offload/manifest.js'
import { reindexFromS3 } from '../src/offload/reindex.js'
import { restoreObjects, restoreTargets } from '../src/offload/restore.js'
import { S3Store } from '../src/offload/s3.js'
import { runOffloadOnce } from '../src/offload/worker.js'
import { addMarker } from '../src/api/markers.js'
import { listAssignments } from '../src/catalog/assignments.js'
import { allFlags } from '../src/catalog/flags.js'
import { markersOf } from '../src/catalog/markers.js'
import { failedObjects, getObjectFixity, lastFixityRun } from '../src/catalog/fixity.js'
import { getMediaInfo } from '../src/catalog/media-info.js'
import { localCopyEvicted } from '../src/catalog/remote-copies.js'
import { runFixity } from '../src/fixity/job.js'
import { getRecording } from '../src/catalog/recordings.js'
import { listDevices, listOfficers, listUnits, unitHistory } from '../src/catalog/registry.js'
import { assignDevice, returnDevice } from '../src/registry/assign.js'
import { type RegistryCtx, saveOfficerEntry } from '../src/registry/manage.js'
import { importRoster } from '../src/registry/roster.js'
import { createCase, linkRecordings, setCategory } from '../src/retention/actions.js'
import { requestFlagRemoval, setFlag } from '../src/retention/flags.js'
import { getSample, sampleItems } from '../src/catalog/reviews.js'
import { drawSample, recordOutcome } from '../src/review/sample.js'
import { runPurge } from '../src/retention/purge.js'
import { verifyVault } from '../src/verify/vault.js'
import { cli, makeCamera, ROLLOUT_AUTH, sha256File, station, tempDir, type TestStation } from './helpers.js'
import { flipByte } from './fixity-support.js'
import { gateway, useS3Server } from './s3-support.js'

const server = await useS3Server(t, 'offload-dr')
const { env } = server

/** A client that is not bodyvault's: what someone with the bucket's credentials could do. */
const plain = new S3Client({
  endpoint: env.BODYVAULT_S3_ENDPOINT!,
  region: env.BODYVAULT_S3_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: env.BODYVAULT_S3_ACCESS_KEY!, secretAccessKey: env.BODYVAULT_S3_SECRET_KEY! },
})
t.teardown(() => plain.destroy())

const bucketName = (tag: string): string => `bv-${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`

function settings(bucket: string, cache: OffloadSettings['cache'] = { keepDays: null, maxBytes: null }): OffloadSettings {
  return { ...offloadSettings({ station: { id: 'test-station' }, offload: { bucket, retry: { baseSeconds: 0.1, maxSeconds: 0.5 } } }, env)!, cache }
}

function deps(t: Test, s: TestStation, set: OffloadSettings): OffloadDeps {
  const s3 = new S3Store(set)
  t.teardown(() => s3.destroy())
  return { db: s.db, vault: s.vault, s3, settings: set, policy: s.st.policy, stationId: 'test-station', logger: silentLogger() }
}

const ago = (days: number, hour = 8): string =>
  DateTime.now().setZone('Asia/Shanghai').minus({ days }).set({ hour, minute: 0, second: 0 }).toFormat('yyyyMMddHHmmss')

function camera(t: Test, files: { time: string; seq: number }[]): string {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (const f of files) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${f.time}_${String(f.seq).padStart(4, '0')}.MP4`), randomBytes(30_000))
  return cam
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'no error'
  } catch (e) {
    const err = e as { Code?: string; name?: string }
    return err.Code ?? err.name ?? String(e)
  }
}

const ctx = (s: TestStation) => ({ db: s.db, policy: s.st.policy, actor: 'user:clerk', now: new Date() })

async function versionsOf(d: OffloadDeps, key: string): Promise<{ versionId: string; deleteMarker: boolean; isLatest: boolean }[]> {
  const out = []
  for await (const v of d.s3.listVersions(key)) if (v.key === key) out.push(v)
  return out
}

/** ON, OFF, or none (Ceph answers ObjectLockConfigurationNotFoundError for a version that never had a hold). */
async function holdOf(d: OffloadDeps, key: string, versionId: string): Promise<string> {
  try {
    return (await plain.send(new GetObjectLegalHoldCommand({ Bucket: d.s3.bucket, Key: key, VersionId: versionId }))).LegalHold?.Status ?? 'none'
  } catch (err) {
    if ((err as { name?: string }).name === 'ObjectLockConfigurationNotFoundError') return 'none'
    throw err
  }
}

/** The catalog is lost; the vault's objects stay where they are. */
function loseCatalog(s: TestStation): void {
  s.st.close()
  for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) rmSync(join(s.dataDir, f), { force: true })
}

/** A rebuild of `from`'s bucket into a fresh data dir. */
async function rebuild(t: Test, d: OffloadDeps): Promise<{ s: TestStation; r: Awaited<ReturnType<typeof reindexFromS3>>; d: OffloadDeps }> {
  const s = station(t, undefined, { rebuildCatalog: true }) // an empty catalog, as reindex opens it (no vault-created event)
  const d2 = deps(t, s, d.settings)
  const r = await reindexFromS3({
    db: s.db,
    vault: s.vault,
    s3: d2.s3,
    settings: d2.settings,
    stationId: 'test-station',
    logger: silentLogger(),
    proxy: s.st.cfg.media.proxy,
  })
  // As after `bodyvault reindex`: the key file put back from its backup (it is in no bucket), and the vault opened again (its marker written).
  mkdirSync(join(s.dataDir, 'keys'), { recursive: true, mode: 0o700 })
  writeFileSync(join(s.dataDir, 'keys', 'station.ed25519'), readFileSync(join(d.vault.dataDir, 'keys', 'station.ed25519')), { mode: 0o600 })
  s.reopen()
  return { s, r, d: { ...d2, db: s.db, vault: s.vault } }
}

t.test('manifests are held: a plain client cannot delete them, a delete marker hides nothing from a rebuild, one version per key', async (t) => {
  const s = station(t)
  const [a, b] = (
    await s.ingest(
      camera(t, [
        { time: ago(3), seq: 1 },
        { time: ago(3, 9), seq: 2 },
      ]),
    )
  ).ingested
  const d = deps(t, s, settings(bucketName('hold')))
  t.same((await runOffloadOnce(d)).failed, [])
  const keyA = keys.manifest(d.settings.prefix, a!.id)
  const [va] = await versionsOf(d, keyA)
  t.equal(await holdOf(d, keyA, va!.versionId), 'ON', 'the manifest is written under a legal hold')
  t.equal(
    await errorOf(plain.send(new DeleteObjectCommand({ Bucket: d.s3.bucket, Key: keyA, VersionId: va!.versionId }))),
    'AccessDenied',
    'deleting its version is refused',
  )

  // A new event about the recording: the manifest is written again, the version it supersedes removed.
  setCategory(ctx(s), a!.id, 'patrol', 'routine')
  await runOffloadOnce(d)
  const after = await versionsOf(d, keyA)
  t.equal(after.length, 1, 'the key keeps one version, the newest')
  t.not(after[0]!.versionId, va!.versionId)
  t.equal(await holdOf(d, keyA, after[0]!.versionId), 'ON', 'held too')

  // Deleting the key (not a version) puts a delete marker on top: allowed, and the manifest disappears from a plain listing.
  const keyB = keys.manifest(d.settings.prefix, b!.id)
  await plain.send(new DeleteObjectCommand({ Bucket: d.s3.bucket, Key: keyB }))
  const listed: string[] = []
  for await (const o of d.s3.list(keys.manifests(d.settings.prefix))) listed.push(o.key)
  t.same(listed, [keyA], 'a plain listing no longer shows it')

  const re = await rebuild(t, d)
  t.same(re.r.manifestsHidden, [b!.id], 'the rebuild reads the version under the marker and reports the deletion')
  t.same([re.r.manifestsMissing, re.r.manifestsUnprotected, re.r.recordings], [[], [], 2])
  t.same((await verifyVault(re.s.db, re.s.vault)).problems, [], 'verify clean')
  await runOffloadOnce(re.d)
  const top = (await versionsOf(re.d, keyB)).find((v) => v.isLatest)!
  t.notOk(top.deleteMarker, 'the rebuilt station writes the manifest again on top of the marker')
  t.equal(await holdOf(re.d, keyB, top.versionId), 'ON')
})

t.test(
  'a manifest without a hold (written before this version) deleted with all its versions: the rebuild reports it and rebuilds from the ledger',
  async (t) => {
    const s = station(t)
    const [a, b, c] = (
      await s.ingest(
        camera(t, [
          { time: ago(3), seq: 1 },
          { time: ago(3, 9), seq: 2 },
          { time: ago(3, 10), seq: 3 },
        ]),
      )
    ).ingested
    createCase(ctx(s), { number: 'DR-1', type: 'penalty-general-procedure', title: null })
    linkRecordings(ctx(s), 'DR-1', [b!.id], 'evidence')
    const d = deps(t, s, settings(bucketName('old')))
    await runOffloadOnce(d)
    await runOffloadOnce(d)
    // As an older bodyvault left them: no hold on the manifests of b and c.
    for (const id of [b!.id, c!.id])
      for (const v of await versionsOf(d, keys.manifest(d.settings.prefix, id)))
        await d.s3.setLegalHold(keys.manifest(d.settings.prefix, id), v.versionId, false)
    const keyB = keys.manifest(d.settings.prefix, b!.id)
    for (const v of await versionsOf(d, keyB))
      t.equal(
        await errorOf(plain.send(new DeleteObjectCommand({ Bucket: d.s3.bucket, Key: keyB, VersionId: v.versionId }))),
        'no error',
        'without a hold, every version goes',
      )
    t.same(await versionsOf(d, keyB), [], 'nothing of it is left in the bucket')

    const re = await rebuild(t, d)
    t.same(re.r.manifestsMissing, [b!.id], 'the recording the ledger knows without a manifest is reported, not skipped')
    t.same(re.r.manifestsUnprotected, [c!.id], 'the one still there without a hold is reported too')
    t.equal(re.r.recordings, 3, 'all three rebuilt (b from the ledger alone)')
    t.match(re.r.notRestored.join('\n'), new RegExp(`manifests of recording\\(s\\) ${b!.id} are not in the bucket`))
    const rebuilt = eventsFor(re.s.db, 'station:test-station').find((e) => e.type === 'catalog-rebuilt')!
    t.same(rebuilt.payload.manifestsMissing, [b!.id], 'and the catalog-rebuilt event says so')
    // doctor repeats it as a note: the event stays in the ledger for good, and the offload worker writes the manifest again.
    const doctor = cli(['doctor', '--json'], { BODYVAULT_DATA_DIR: re.s.dataDir })
    const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; ok: boolean; detail: string; note?: true }[] }).checks
    t.match(
      checks.filter((c) => c.check === 'rebuilt from S3' || c.check === 'not restored'),
      [
        { ok: true, note: true, detail: /3 recordings/ },
        { ok: true, note: true, detail: new RegExp(`manifests of recording\\(s\\) ${b!.id} are not in the bucket`) },
      ],
      'doctor says which manifest was missing, as a note that does not fail it',
    )
    t.same((await verifyVault(re.s.db, re.s.vault)).problems, [], 'verify clean: the case link and the deadline came from the ledger')
    t.same(re.s.db.prepare('SELECT case_number FROM case_links WHERE recording_id = ?').pluck().all(b!.id), ['DR-1'])
    const pass = await runOffloadOnce(re.d)
    t.equal(pass.done.manifest, 2, 'the rebuilt station writes both again')
    for (const id of [b!.id, c!.id]) {
      const key = keys.manifest(d.settings.prefix, id)
      const vs = await versionsOf(re.d, key)
      t.equal(vs.length, 1)
      t.equal(await holdOf(re.d, key, vs[0]!.versionId), 'ON', `recording ${id}: now under a hold`)
    }
    t.ok(a)
  },
)

t.test('a rebuild keeps what only the ledger says: retention flags (a permanent keep survives a purge three years on), markers, the roster', async (t) => {
  const s = station(t)
  const [a, b] = (
    await s.ingest(
      camera(t, [
        { time: ago(3), seq: 1 },
        { time: ago(3, 9), seq: 2 },
      ]),
    )
  ).ingested.sort((x, y) => x.id - y.id)
  const flagCtx = (actor: string, person: string) => ({ db: s.db, policy: s.st.policy, actor, person, now: new Date() })
  const kept = setFlag(flagCtx('user:li', '900001'), a!.id, 'obstruction', '妨害执行职务 2026-1187')
  const asked = setFlag(flagCtx('user:li', '900001'), a!.id, 'complaint', '投诉 88')
  requestFlagRemoval(flagCtx('user:zhang', '900004'), asked.flag.id, 'complaint withdrawn')
  addMarker(s.db, getRecording(s.db, a!.id)!, { positionMs: 0, note: '00:00 出示证件', actor: 'user:li' })
  const roster: RegistryCtx = { db: s.db, actor: 'user:admin', via: 'test', zone: 'Asia/Shanghai', now: new Date() }
  await importRoster(
    roster,
    'units',
    Buffer.from('code,name,level,parent\nB1,市公安局,bureau,\nS1,城北派出所,station,B1\nT1,巡逻一队,team,S1\nT2,巡逻二队,team,S1\n'),
    'csv',
  )
  await importRoster(roster, 'officers', Buffer.from('police_number,name,unit,active_from\n000111,张三,T1,2026-01-01\n'), 'csv')
  await importRoster(roster, 'devices', Buffer.from('device_number,serial,usb_id,profile,unit\nCAM-01,SN-CAM-01,abcd:0001,generic-dcim,T1\n'), 'csv')
  saveOfficerEntry({ ...roster, now: new Date(Date.now() + 1000) }, { police_number: '000111', unit: 'T2', unit_from: '2026-06-01' }, 'upsert')
  assignDevice(roster, { deviceNumber: 'CAM-01', policeNumber: '000111', kind: 'checkout', from: new Date(Date.now() - 3600_000).toISOString() })
  returnDevice({ ...roster, now: new Date(Date.now() + 2000) }, 'CAM-01')
  const review = { db: s.db, actor: 'user:wang', person: '900002', stationId: 'test-station', now: new Date() }
  const drawn = drawSample(review, { month: '2026-11', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', perOfficer: 1, seed: 'dr-seed' })
  recordOutcome(review, drawn.sample.id, drawn.items[0]!.recordingId, 'late', undefined)
  const d = deps(t, s, settings(bucketName('flags')))
  await runOffloadOnce(d)
  await runOffloadOnce(d)

  const re = await rebuild(t, d)
  t.equal(re.r.flags, 2, 'both flags counted')
  t.same(allFlags(re.s.db), allFlags(s.db), 'the flags come back as they were, the removal request included')
  t.same(markersOf(re.s.db, a!.id), markersOf(s.db, a!.id), 'the marker comes back')
  t.same(
    [getSample(re.s.db, drawn.sample.id), sampleItems(re.s.db, drawn.sample.id)],
    [getSample(s.db, drawn.sample.id), sampleItems(s.db, drawn.sample.id)],
    'the random-review sample and its outcome (they count in the monthly statistics)',
  )
  t.same(listUnits(re.s.db), listUnits(s.db), 'units')
  t.same(listOfficers(re.s.db), listOfficers(s.db), 'officers')
  t.same(unitHistory(re.s.db, '000111'), unitHistory(s.db, '000111'), "the officer's unit over time (footage before the move stays with the old unit)")
  t.same(listDevices(re.s.db), listDevices(s.db), 'devices')
  t.same(listAssignments(re.s.db, {}), listAssignments(s.db, {}), 'who carried which camera when')
  t.same(re.r.roster, { units: 4, officers: 1, devices: 1, assignments: 1, attributions: re.r.roster.attributions })
  t.same((await verifyVault(re.s.db, re.s.vault)).problems, [], 'verify clean on the rebuilt catalog (it replays the flags too)')

  // The threat: a rebuilt station forgets the flag, and the nightly purge takes footage that must stay for good.
  const later = DateTime.now().plus({ years: 3 }).toJSDate()
  const rep = await runPurge({
    db: re.s.db,
    vault: re.s.vault,
    policy: re.s.st.policy,
    now: later,
    dryRun: false,
    actor: 'station:test-station',
    logger: silentLogger(),
  })
  t.same(
    rep.purged.map((p) => p.recordingId),
    [b!.id],
    'three years on, the rebuilt station purges the unflagged clip only',
  )
  t.equal(getRecording(re.s.db, a!.id)!.status, 'stored', `recording ${a!.id} (flag #${kept.flag.id}, obstruction) stays`)
})

t.test("a purged recording's manifest is released once its remote copy is deleted", async (t) => {
  const s = station(t)
  const [old] = (await s.ingest(camera(t, [{ time: '20240110080000', seq: 1 }]))).ingested
  setCategory(ctx(s), old!.id, 'patrol', 'routine')
  // Offloaded before the purge, so the purge has a remote copy to delete (its deadline is long past: no retention on it).
  const d = deps(t, s, settings(bucketName('release')))
  await runOffloadOnce(d)
  const key = keys.manifest(d.settings.prefix, old!.id)
  t.equal(await holdOf(d, key, (await versionsOf(d, key))[0]!.versionId), 'ON', 'held while stored')
  await runPurge({ db: s.db, vault: s.vault, policy: s.st.policy, now: new Date(), dryRun: false, actor: 'station:test-station', logger: silentLogger() })
  const rep = await runOffloadOnce(d)
  t.equal(rep.done.delete, 1, 'the remote copy is deleted')
  const vs = await versionsOf(d, key)
  t.equal(vs.length, 1)
  t.not(await holdOf(d, key, vs[0]!.versionId), 'ON', 'then the manifest (with its tombstone) is written without a hold')
  const m = JSON.parse(await d.s3.getText(key)) as { recording: { status: string } }
  t.equal(m.recording.status, 'purged')
  const re = await rebuild(t, d)
  t.same([re.r.purged, re.r.manifestsMissing, re.r.manifestsUnprotected], [1, [], []], 'a released manifest without a hold is not a problem')
  t.equal(await errorOf(plain.send(new DeleteObjectCommand({ Bucket: d.s3.bucket, Key: key, VersionId: vs[0]!.versionId }))), 'no error', 'it may go')
  const again = await rebuild(t, d)
  t.same([again.r.purged, again.r.manifestsMissing], [1, []], 'and its absence is not either: the tombstone is in the ledger segments')
  t.same((await verifyVault(again.s.db, again.s.vault)).problems, [])
})

t.test(
  'no eviction ahead of the lock: a lock change queued during an outage keeps the local copy',
  { skip: !server.dir && 'needs the cluster folder (BODYVAULT_S3_DIR) to stop the gateway' },
  async (t) => {
    const s = station(t)
    const [r] = (await s.ingest(camera(t, [{ time: ago(2), seq: 1 }]))).ingested
    setCategory(ctx(s), r!.id, 'patrol', 'routine')
    const set = settings(bucketName('evict'))
    const d = deps(t, s, set)
    await runOffloadOnce(d)
    const row = () =>
      s.db.prepare('SELECT retain_until AS until, legal_hold AS hold FROM offload_objects WHERE sha256 = ?').get(r!.sha256) as { until: string; hold: number }
    t.ok(row().until, 'uploaded with a COMPLIANCE date (patrol: six months + grace)')

    // Linked to an open case: the deadline becomes indefinite, the object needs a legal hold. The gateway is down.
    createCase(ctx(s), { number: 'EV-1', type: 'penalty-general-procedure', title: null })
    linkRecordings(ctx(s), 'EV-1', [r!.id], 'evidence')
    await gateway(server, 'stop')
    let up = false
    t.teardown(async () => {
      if (!up) await gateway(server, 'start')
    })
    const during = await runOffloadOnce({ ...d, settings: { ...set, cache: { keepDays: 0, maxBytes: null } } })
    t.ok(during.outage, 'the pass met the outage')
    t.ok(s.db.prepare("SELECT 1 FROM offload_queue WHERE op = 'lock' AND subject = ?").get(r!.sha256), 'the legal hold waits in the queue')
    t.same(during.evicted, [], 'nothing evicted while the lock lags the deadline')
    t.ok(existsSync(s.vault.objectPath(r!.sha256)), 'the local copy stays')
    t.equal(eventsFor(s.db, `object:${r!.sha256}`).filter((e) => e.type === 'evicted').length, 0)

    await gateway(server, 'start')
    up = true
    const after = await runOffloadOnce({ ...d, settings: { ...set, cache: { keepDays: 0, maxBytes: null } } })
    t.equal(after.done.lock, 1, 'the hold is placed once the gateway is back')
    t.equal(row().hold, 1)
    t.same(
      after.evicted.map((e) => e.sha256),
      [r!.sha256],
      'and only then the local copy goes',
    )
    const { key, v } = s.db.prepare('SELECT key, version_id AS v FROM offload_objects WHERE sha256 = ?').get(r!.sha256) as { key: string; v: string }
    t.equal(await holdOf(d, key, v), 'ON')
    t.same((await verifyVault(s.db, s.vault)).problems, [])
  },
)

t.test('restore-object: an evicted object comes back hashed, with a fetched-back event; unknown ones are refused', async (t) => {
  const s = station(t)
  const [a, b] = (
    await s.ingest(
      camera(t, [
        { time: ago(2), seq: 1 },
        { time: ago(2, 9), seq: 2 },
      ]),
    )
  ).ingested
  const d = deps(t, s, settings(bucketName('restore'), { keepDays: 0, maxBytes: null }))
  await runOffloadOnce(d)
  t.notOk(existsSync(s.vault.objectPath(a!.sha256)), 'evicted')
  const targets = restoreTargets(s.db, [String(a!.id), b!.sha256])
  t.same(
    targets.map((x) => [x.sha256, x.role]),
    [
      [a!.sha256, 'original'],
      [b!.sha256, 'object'],
    ],
  )
  const out = await restoreObjects({ db: s.db, vault: s.vault, s3: d.s3, logger: silentLogger() }, targets.slice(0, 1), 'user:clerk.li')
  t.same(
    out.map((o) => o.status),
    ['fetched'],
  )
  t.equal(sha256File(s.vault.objectPath(a!.sha256)), a!.sha256, 'the bytes hash to the recording')
  const ev = eventsFor(s.db, `object:${a!.sha256}`).at(-1)!
  t.match(ev, { type: 'fetched-back', actor: 'user:clerk.li', payload: { sha256: a!.sha256, reason: 'restore-object' } }, 'recorded, naming the person')
  t.equal(getObjectFixity(s.db, a!.sha256)?.checkedAt, ev.at, 'hashed whole on the way back: a check on the record, at its event')
  t.same(
    (await restoreObjects({ db: s.db, vault: s.vault, s3: d.s3, logger: silentLogger() }, targets.slice(0, 1), 'user:clerk.li')).map((o) => o.status),
    ['local'],
    'a second time: already local, no second event',
  )
  t.equal(eventsFor(s.db, `object:${a!.sha256}`).filter((e) => e.type === 'fetched-back').length, 1)
  t.same((await verifyVault(s.db, s.vault)).problems, [], 'verify: the ledger says it is local, and it is')
  t.throws(() => restoreTargets(s.db, ['999']), { code: 'RECORDING_NOT_FOUND' })
  t.throws(() => restoreTargets(s.db, ['ab'.repeat(32)]), { code: 'OBJECT_MISSING' })
  t.throws(() => restoreTargets(s.db, ['a1']), { code: 'USAGE' })
  // Evicted again by the cache policy: an evicted event after the fetched-back one, and verify accepts it gone.
  await runOffloadOnce(d)
  t.notOk(existsSync(s.vault.objectPath(a!.sha256)))
  t.equal(eventsFor(s.db, `object:${a!.sha256}`).at(-1)!.type, 'evicted')
  t.same((await verifyVault(s.db, s.vault)).problems, [])
})

t.test('fixity findings survive a lost catalog: a copy found bad stays open, counted and refused after reindex; one repaired stays closed', async (t) => {
  // No offload and no backup on the station's own Fixity: a bad copy cannot be repaired, so its finding stays open.
  const s = station(t)
  const [bad, mended, good] = (
    await s.ingest(
      camera(t, [
        { time: ago(2), seq: 1 },
        { time: ago(2, 9), seq: 2 },
        { time: ago(2, 10), seq: 3 },
      ]),
    )
  ).ingested.sort((x, y) => x.id - y.id)
  const d = deps(t, s, settings(bucketName('fixity')))
  await runOffloadOnce(d) // the good bytes in the bucket first
  flipByte(s.vault.objectPath(bad!.sha256), 100)
  flipByte(s.vault.objectPath(mended!.sha256), 200)
  t.match(await runFixity(s.st.fixity, { scope: 'all', trigger: 'manual', budgetBytesPerSec: 0 }), { objects: 3, failed: 2, repaired: 0 })
  flipByte(s.vault.objectPath(mended!.sha256), 200) // the same byte back: good in place
  t.match(await runFixity(s.st.fixity, { scope: 'all', trigger: 'manual', budgetBytesPerSec: 0 }), { failed: 1, repaired: 1 })
  await runOffloadOnce(d) // the chain with its fixity events in the bucket
  const before = { failed: failedObjects(s.db), run: lastFixityRun(s.db)!, state: s.st.fixityState() }
  t.equal(before.state.failed, 1, 'before: the dashboard counts one bad copy')

  // The catalog is lost; the vault's objects (the bad copy among them) stay where they are.
  loseCatalog(s)
  const re = station(t, s.dataDir, { rebuildCatalog: true })
  const r = await reindexFromS3({
    db: re.db,
    vault: re.vault,
    s3: d.s3,
    settings: d.settings,
    stationId: 'test-station',
    logger: silentLogger(),
    proxy: re.st.cfg.media.proxy,
  })
  re.reopen()
  t.same(r.fixity, { open: 1, checked: 1, runs: 2 }, 'the report counts the open finding, the repaired object and both runs')
  t.same(failedObjects(re.db), before.failed, 'the open finding comes back as it was: the object, its size, when, what was wrong')
  t.equal(
    getObjectFixity(re.db, mended!.sha256)?.checkedAt,
    eventsFor(re.db, `object:${mended!.sha256}`).find((e) => e.type === 'object-repaired')?.at,
    'the repaired one stays closed, checked when it was repaired',
  )
  t.equal(getObjectFixity(re.db, good!.sha256), undefined, "the good one: the job's quiet check is not on the record (due at the next run)")
  const { startedAt, endedAt, ...run } = before.run
  t.match(lastFixityRun(re.db), run, 'the last run comes back from its fixity-checked event')
  const state = re.st.fixityState()
  t.equal(state.failed, 1, 'the dashboard still counts the bad copy')
  t.match(state.warning, /1 object\(s\) failed their check/, 'and status and doctor still warn')
  // The rebuilt station has no repair source: the bad copy is refused, never served as good.
  await t.rejects(re.st.fixity.open(bad!.sha256, bad!.size), { code: 'OBJECT_CORRUPT' }, 'the bad copy is not served')
  t.equal(eventsFor(re.db, `object:${bad!.sha256}`).filter((e) => e.type === 'fixity-failed').length, 1, 'and no second finding: it was already open')
  const ok = await re.st.fixity.open(mended!.sha256, mended!.size)
  const bytes: Buffer[] = []
  for await (const c of await ok.stream(0, mended!.size - 1)) bytes.push(c as Buffer)
  t.equal(createHash('sha256').update(Buffer.concat(bytes)).digest('hex'), mended!.sha256, 'the repaired one is served, its bytes the recorded ones')
})

t.test('reindex --fetch over a data dir that kept its objects: good copies checked and marked local, an altered one fetched back good', async (t) => {
  // The threat: the catalog is lost but the objects are not, and one of them was altered on disk. A copy found in
  // the folder is not proof of anything: trusted unchecked, the altered bytes would be served as evidence; left
  // "evicted" on the record, nothing would check the good ones and verify would accept their loss.
  const s = station(t)
  const recs = (
    await s.ingest(
      camera(t, [
        { time: ago(2), seq: 1 },
        { time: ago(2, 9), seq: 2 },
        { time: ago(2, 10), seq: 3 },
      ]),
    )
  ).ingested.sort((x, y) => x.id - y.id)
  const [altered, ...good] = recs
  const d = deps(t, s, settings(bucketName('fetch')))
  await runOffloadOnce(d)
  await runOffloadOnce(d) // the chain with the offloaded events in the bucket; the local copies stay (no cache limit)
  const path = (sha: string): string => s.vault.objectPath(sha)
  loseCatalog(s)
  flipByte(path(altered!.sha256), 100)
  t.not(sha256File(path(altered!.sha256)), altered!.sha256, 'one object altered on disk')

  const cfgFile = join(tempDir(t), 'station.json')
  writeFileSync(
    cfgFile,
    JSON.stringify({
      station: { id: 'test-station', name: 'Test station' },
      auth: ROLLOUT_AUTH,
      docking: { mountRoots: [join(s.dataDir, '..', 'no-cameras-here')] },
      offload: { bucket: d.settings.bucket, retry: { baseSeconds: 0.1, maxSeconds: 0.5 } },
    }),
  )
  const run = cli(['reindex', '--from-s3', '--fetch', '--json'], { ...env, BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: s.dataDir })
  t.equal(run.code, 0, `reindex --fetch exits 0${run.code ? `: ${run.stderr || run.stdout}` : ''}`)
  const r = JSON.parse(run.stdout) as Awaited<ReturnType<typeof reindexFromS3>>
  const bytesOf = (xs: typeof recs) => xs.reduce((n, x) => n + x!.size, 0)
  t.same(
    r.objects,
    {
      remote: 3,
      checked: 3,
      missing: [],
      present: 2,
      presentBytes: bytesOf(good),
      fetched: 1,
      fetchedBytes: altered!.size,
      replaced: [altered!.sha256],
      failed: [],
    },
    'the report: two already here and good, one fetched in place of the altered copy, none failed',
  )

  const re = station(t, s.dataDir)
  for (const x of recs) {
    t.equal(sha256File(path(x!.sha256)), x!.sha256, `recording ${x!.id}: the local bytes hash to its name`)
    t.notOk(localCopyEvicted(re.db, x!.sha256), `recording ${x!.id}: on the record as local`)
    const ok = await re.st.fixity.open(x!.sha256, x!.size)
    const got: Buffer[] = []
    for await (const c of await ok.stream(0, x!.size - 1)) got.push(c as Buffer)
    t.equal(createHash('sha256').update(Buffer.concat(got)).digest('hex'), x!.sha256, `recording ${x!.id}: served, its recorded bytes`)
  }
  const types = (sha: string) => eventsFor(re.db, `object:${sha}`).map((e) => e.type)
  t.same(types(altered!.sha256).slice(-3), ['fixity-failed', 'object-repaired', 'local-copy-confirmed'], 'the altered copy: reported, repaired, local again')
  t.match(eventsFor(re.db, `object:${altered!.sha256}`).at(-3), { payload: { where: 'reindex' } }, 'the finding names reindex as who found it')
  t.match(eventsFor(re.db, `object:${altered!.sha256}`).at(-2), { payload: { from: 's3' } }, 'repaired from the bucket')
  for (const x of good) t.equal(types(x!.sha256).at(-1), 'local-copy-confirmed', `recording ${x!.id}: checked and confirmed, no fetch`)
  t.same(failedObjects(re.db), [], 'no open finding')
  t.same((await verifyVault(re.db, re.vault)).problems, [], 'verify clean')
  // What the confirmation is for: the ledger says the copy is local again, so its loss is a finding, not an eviction.
  rmSync(path(good[0]!.sha256), { force: true })
  const after = (await verifyVault(re.db, re.vault)).problems
  t.ok(after.length > 0 && JSON.stringify(after).includes(good[0]!.sha256), 'a confirmed copy deleted afterwards is a problem verify reports')
})

t.test(
  'plain reindex over a data dir that kept its objects: good copies checked and kept local, an altered one not trusted, an absent one not fetched',
  async (t) => {
    // The threat: without --fetch the rebuilt catalog either trusts the files it finds (an altered one served as evidence)
    // or ignores them (every kept object "evicted": nothing checks them, verify accepts their loss, and reads fetch what is
    // already here). And a plain reindex must not turn into a download of the whole bucket.
    const s = station(t)
    const recs = (
      await s.ingest(
        camera(t, [
          { time: ago(2), seq: 1 },
          { time: ago(2, 9), seq: 2 },
          { time: ago(2, 10), seq: 3 },
        ]),
      )
    ).ingested.sort((x, y) => x.id - y.id)
    const [altered, good, absent] = recs
    const d = deps(t, s, settings(bucketName('plain')))
    await runOffloadOnce(d)
    await runOffloadOnce(d)
    const path = (sha: string): string => s.vault.objectPath(sha)
    loseCatalog(s)
    flipByte(path(altered!.sha256), 100)
    rmSync(path(absent!.sha256))

    const cfgFile = join(tempDir(t), 'station.json')
    writeFileSync(
      cfgFile,
      JSON.stringify({
        station: { id: 'test-station', name: 'Test station' },
        auth: ROLLOUT_AUTH,
        docking: { mountRoots: [join(s.dataDir, '..', 'no-cameras-here')] },
        offload: { bucket: d.settings.bucket, retry: { baseSeconds: 0.1, maxSeconds: 0.5 } },
      }),
    )
    const run = cli(['reindex', '--from-s3', '--json'], { ...env, BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: s.dataDir })
    t.equal(run.code, 0, `reindex exits 0${run.code ? `: ${run.stderr || run.stdout}` : ''}`)
    const r = JSON.parse(run.stdout) as Awaited<ReturnType<typeof reindexFromS3>>
    t.same(
      r.objects,
      {
        remote: 3,
        checked: 3,
        missing: [],
        present: 1,
        presentBytes: good!.size,
        fetched: 1,
        fetchedBytes: altered!.size,
        replaced: [altered!.sha256],
        failed: [],
      },
      'the report: one here and good, the altered one replaced (counted fetched), the absent one left in the bucket',
    )
    const text = cli(['reindex', '--from-s3'], { ...env, BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: join(tempDir(t), 'again') })
    t.match(
      text.stdout,
      /local: 0 already here and good \(0 B\), 0 fetched \(0 B\), 0 failed; the others stay in the bucket/,
      'the text report says what stayed in the bucket',
    )

    const re = station(t, s.dataDir)
    const types = (sha: string) => eventsFor(re.db, `object:${sha}`).map((e) => e.type)
    t.same(types(altered!.sha256).slice(-3), ['fixity-failed', 'object-repaired', 'local-copy-confirmed'], 'the altered copy: reported, repaired, local again')
    t.match(eventsFor(re.db, `object:${altered!.sha256}`).at(-3), { payload: { where: 'reindex' } }, 'the finding names reindex as who found it')
    t.equal(sha256File(path(altered!.sha256)), altered!.sha256, 'the altered bytes are not what the vault holds under its name any more')
    t.equal(types(good!.sha256).at(-1), 'local-copy-confirmed', 'the good copy: checked and confirmed')
    t.match(eventsFor(re.db, `object:${good!.sha256}`).at(-1), { payload: { reason: 'reindex' } }, 'by a plain reindex')
    for (const x of [altered, good]) t.notOk(localCopyEvicted(re.db, x!.sha256), `recording ${x!.id}: on the record as local`)
    t.ok(localCopyEvicted(re.db, absent!.sha256), 'the absent one: evicted on the record')
    t.notOk(existsSync(path(absent!.sha256)), 'and not fetched')
    t.notOk(types(absent!.sha256).includes('fetched-back'), 'no fetched-back event for it')
    t.same(failedObjects(re.db), [], 'no open finding')
    t.same((await verifyVault(re.db, re.vault)).problems, [], 'verify clean')
  },
)

t.test('reindex --fetch with no good copy to be had: the bad local copy is reported, counted failed, never confirmed', async (t) => {
  // The station rebuilding here has no repair source (no offload section: the same as a bucket whose copy cannot be read).
  const s = station(t)
  const [bad, ok] = (
    await s.ingest(
      camera(t, [
        { time: ago(2), seq: 1 },
        { time: ago(2, 9), seq: 2 },
      ]),
    )
  ).ingested.sort((x, y) => x.id - y.id)
  const d = deps(t, s, settings(bucketName('nogood')))
  await runOffloadOnce(d)
  await runOffloadOnce(d)
  loseCatalog(s)
  flipByte(s.vault.objectPath(bad!.sha256), 7)
  const re = station(t, s.dataDir, { rebuildCatalog: true })
  const r = await reindexFromS3({
    db: re.db,
    vault: re.vault,
    s3: d.s3,
    settings: d.settings,
    stationId: 'test-station',
    logger: silentLogger(),
    proxy: re.st.cfg.media.proxy,
    local: {
      checkLocal: async (o) => (await re.st.fixity.check({ ...o, checkedAt: null, failedAt: null }, { where: 'reindex' })).outcome,
      fetchMissing: true,
    },
  })
  t.match(r.objects, { present: 1, presentBytes: ok!.size, fetched: 0, replaced: [] }, 'the good one counted present, nothing fetched')
  t.equal(r.objects.failed.length, 1)
  t.match(
    r.objects.failed[0],
    new RegExp(`^${bad!.sha256} \\(the local copy does not hash to its name and no good copy could be had`),
    'the bad one failed, named',
  )
  re.reopen()
  t.same(
    failedObjects(re.db).map((f) => f.sha256),
    [bad!.sha256],
    'an open finding: status, doctor and the dashboard count it',
  )
  t.notOk(
    eventsFor(re.db, `object:${bad!.sha256}`).some((e) => e.type === 'local-copy-confirmed'),
    'never confirmed',
  )
  await t.rejects(re.st.fixity.open(bad!.sha256, bad!.size), { code: 'OBJECT_CORRUPT' }, 'and never served as good')
  const v = (await verifyVault(re.db, re.vault)).problems
  t.ok(JSON.stringify(v).includes(bad!.sha256), 'verify reports it')
})

t.test('a rebuilt queued proxy gets the rank and carried thumbnail its recorded probe implies: an HEVC transcode after an H.264 copy', async (t) => {
  // 1 H.264/AAC clip, 1 H.265, 1 AVI, 1 WAV, 2 JPEG (scripts/make-fake-camera): ranks 0, 2, 2, 1 when probed.
  const cam = await makeCamera(join(tempDir(t), 'cam'), ['--count', '6'])
  const s = station(t)
  await s.ingest(cam)
  const probes = await s.st.mediaWorker({ kinds: ['probe'] }).drain()
  t.ok(probes.outcomes.length > 0 && probes.outcomes.every((o) => o.outcome === 'done'), 'probed, no proxy made')
  const d = deps(t, s, settings(bucketName('rank')))
  await runOffloadOnce(d)
  await runOffloadOnce(d)
  const ranks = (db: TestStation['db']) =>
    db.prepare("SELECT recording_id AS id, rank, carries, state FROM media_jobs WHERE kind = 'proxy' ORDER BY recording_id").all() as {
      id: number
      rank: number
      carries: string | null
      state: string
    }[]
  const before = ranks(s.db)
  const re = await rebuild(t, d)
  t.same(ranks(re.s.db), before, 'every rebuilt proxy job: queued, its rank and the job it carries as the probe set them')
  const rankOf = (codec: string) => before.find((j) => getMediaInfo(s.db, j.id)?.videoCodec === codec)
  t.match(rankOf('h264'), { rank: 0, carries: 'thumbnail', state: 'queued' }, 'the H.264 copy: 0, its thumbnail made in the same run')
  const hevc = rankOf('hevc')
  if (hevc) t.match(hevc, { rank: 2, carries: null, state: 'queued' }, 'the HEVC transcode: 2, its thumbnail a job of its own')
  else t.comment('this ffmpeg has no libx265: the AVI clip stands for the video transcode')
  t.ok(
    before.some((j) => j.rank === 2),
    'a video transcode among them (else rank 0 everywhere would pass)',
  )
})
