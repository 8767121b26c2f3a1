// Offload against a real S3 server with Object Lock: Ceph RADOS Gateway from
// scripts/s3-test-server (s3rver would silently ignore locks). Started once
// for this file on a free port and stopped in teardown; or, when
// BODYVAULT_S3_ENDPOINT is set, a running one is used (then the gateway
// restart test needs BODYVAULT_S3_DIR, the server's --dir, or is skipped).
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectCommand, GetObjectLegalHoldCommand, GetObjectRetentionCommand, PutObjectRetentionCommand } from '@aws-sdk/client-s3'
import { DateTime } from 'luxon'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { openObject } from '../src/offload/cache.js'
import { offloadSettings, type OffloadConfigFile, type OffloadSettings } from '../src/offload/config.js'
import { keys } from '../src/offload/manifest.js'
import { S3Store } from '../src/offload/s3.js'
import type { OffloadDeps } from '../src/offload/context.js'
import { runOffloadOnce } from '../src/offload/worker.js'
import { retentionPolicy, type RetentionSettings } from '../src/retention/config.js'
import { purgeAfter, type RetentionPolicy } from '../src/retention/policy.js'
import { runPurge } from '../src/retention/purge.js'
import { closeCase, createCase, linkRecordings, setCategory } from '../src/retention/actions.js'
import { verifyVault } from '../src/verify/vault.js'
import { cli, ROLLOUT_AUTH, ROOT, sha256File, signedInEnv, station, tempDir, type TestStation } from './helpers.js'
import { S3_SCRIPT, useS3Server } from './s3-support.js'

const defaults = JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as { retention: RetentionSettings }
const POLICY: RetentionPolicy = retentionPolicy({ station: { timezone: 'Asia/Shanghai' }, retention: defaults.retention })

const { env, dir: clusterDir } = await useS3Server(t, 'offload-test')

/** Stops only the gateway (SIGKILL, then fenced: scripts/s3-test-server gateway stop), as an outage; the cluster keeps its data. */
function stopGateway(): void {
  execFileSync(S3_SCRIPT, ['gateway', 'stop', '--dir', clusterDir!], { stdio: 'ignore' })
}

async function startGateway(): Promise<void> {
  execFileSync('radosgw', ['-c', join(clusterDir!, 'ceph.conf'), '-n', 'client.rgw.a'])
  const url = env.BODYVAULT_S3_ENDPOINT!
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).status === 200) return
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('radosgw did not come back')
}

const bucketName = (tag: string): string => `bv-${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`

function settings(bucket: string, over: Partial<OffloadConfigFile> = {}): OffloadSettings {
  return offloadSettings(
    {
      station: { id: 'test-station' },
      offload: { bucket, partSizeBytes: 5 << 20, multipartThresholdBytes: 5 << 20, retry: { baseSeconds: 0.1, maxSeconds: 0.5 }, ...over },
    },
    env,
  )!
}

function deps(t: Test, s: TestStation, set: OffloadSettings): OffloadDeps {
  const s3 = new S3Store(set)
  t.teardown(() => s3.destroy())
  return { db: s.db, vault: s.vault, s3, settings: set, policy: POLICY, stationId: 'test-station', logger: silentLogger() }
}

/** Station-local file-name time `days` days ago. */
const ago = (days: number, hour = 8): string =>
  DateTime.now().setZone('Asia/Shanghai').minus({ days }).set({ hour, minute: 0, second: 0 }).toFormat('yyyyMMddHHmmss')

function camera(t: Test, files: { time: string; seq: number; imp?: boolean; size?: number }[]): string {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (const f of files)
    writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${f.time}_${String(f.seq).padStart(4, '0')}${f.imp ? '_IMP' : ''}.MP4`), randomBytes(f.size ?? 30_000))
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

const ctx = (s: TestStation, now = new Date()) => ({ db: s.db, policy: POLICY, actor: 'user:clerk', now })

t.test(
  'upload: read back and hashed before it counts; COMPLIANCE lock = purge date; legal hold while indefinite; locked versions cannot be deleted',
  async (t) => {
    const s = station(t)
    const r = await s.ingest(
      camera(t, [
        { time: ago(2), seq: 1 },
        { time: ago(2, 9), seq: 2, imp: true },
        { time: ago(2, 10), seq: 3, size: 12 * 1024 * 1024 + 321 },
      ]),
    )
    const [patrol, evidence, big] = r.ingested
    setCategory(ctx(s), patrol!.id, 'patrol', 'routine')
    setCategory(ctx(s), big!.id, 'inspection', 'shop inspection')
    const d = deps(t, s, settings(bucketName('lock')))
    const rep = await runOffloadOnce(d)
    t.same(rep.failed, [], 'no failures')
    t.same(
      rep.verified.map((v) => [v.sha256, v.multipart]).sort(),
      [
        [patrol!.sha256, false],
        [evidence!.sha256, false],
        [big!.sha256, true],
      ].sort(),
      'three objects, the big one in parts',
    )
    t.equal(rep.pending, 0)
    for (const x of r.ingested) {
      const ev = eventsFor(s.db, `object:${x.sha256}`).find((e) => e.type === 'offloaded')!
      t.equal(ev.payload.readBackSha256, x.sha256, `offloaded event after a read-back hash of ${x.sourcePath}`)
    }
    const row = (sha: string) => s.db.prepare('SELECT key, version_id AS v FROM offload_objects WHERE sha256 = ?').get(sha) as { key: string; v: string }
    const p = row(patrol!.sha256)
    const ret = await d.s3.client.send(new GetObjectRetentionCommand({ Bucket: d.s3.bucket, Key: p.key, VersionId: p.v }))
    const deadline = new Date((s.db.prepare('SELECT deadline FROM retention WHERE recording_id = ?').get(patrol!.id) as { deadline: string }).deadline)
    t.equal(ret.Retention?.Mode, 'COMPLIANCE')
    t.equal(
      ret.Retention?.RetainUntilDate?.toISOString(),
      (purgeAfter(deadline, POLICY) as Date).toISOString(),
      'retain-until = deadline + grace (when the purge may delete it)',
    )
    const bigRow = row(big!.sha256)
    t.equal(
      (await d.s3.client.send(new GetObjectRetentionCommand({ Bucket: d.s3.bucket, Key: bigRow.key, VersionId: bigRow.v }))).Retention?.Mode,
      'COMPLIANCE',
      'the multipart object is locked too (after completing)',
    )
    const e = row(evidence!.sha256)
    t.equal(
      (await d.s3.client.send(new GetObjectLegalHoldCommand({ Bucket: d.s3.bucket, Key: e.key, VersionId: e.v }))).LegalHold?.Status,
      'ON',
      'evidence awaiting a case (indefinite): legal hold',
    )
    t.equal(
      await errorOf(d.s3.client.send(new DeleteObjectCommand({ Bucket: d.s3.bucket, Key: p.key, VersionId: p.v }))),
      'AccessDenied',
      'the server refuses to delete the locked version',
    )
    t.equal(await errorOf(d.s3.client.send(new DeleteObjectCommand({ Bucket: d.s3.bucket, Key: e.key, VersionId: e.v }))), 'AccessDenied', 'and the held one')
    t.equal(
      await errorOf(
        d.s3.client.send(
          new PutObjectRetentionCommand({
            Bucket: d.s3.bucket,
            Key: p.key,
            VersionId: p.v,
            Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 3600_000) },
          }),
        ),
      ),
      'AccessDenied',
      'nor shorten its retention',
    )
    const manifests: string[] = []
    for await (const o of d.s3.list(keys.manifests(d.settings.prefix))) manifests.push(o.key)
    t.equal(manifests.length, 3, 'a manifest per recording')
    const m = JSON.parse(await d.s3.getText(keys.manifest(d.settings.prefix, patrol!.id))) as { recording: { sha256: string }; events: { type: string }[] }
    t.equal(m.recording.sha256, patrol!.sha256)
    t.same(
      m.events.map((x) => x.type),
      ['ingested', 'category-changed', 'retention-changed', 'offloaded'],
      'with its ledger events',
    )
    const again = await runOffloadOnce(d)
    t.same([again.verified.length, again.done.manifest, again.done.ledger, again.pending], [0, 0, 0, 0], 'a second pass has nothing to do')
    t.same((await verifyVault(s.db, s.vault)).problems, [])
  },
)

t.test('retention grows: legal hold while a case is open, COMPLIANCE extended when it closes', async (t) => {
  const s = station(t)
  const r = await s.ingest(camera(t, [{ time: ago(3), seq: 1 }]))
  const rec = r.ingested[0]!
  setCategory(ctx(s), rec.id, 'patrol', 'routine')
  const d = deps(t, s, settings(bucketName('grow')))
  await runOffloadOnce(d)
  const { key, v } = s.db.prepare('SELECT key, version_id AS v FROM offload_objects WHERE sha256 = ?').get(rec.sha256) as { key: string; v: string }
  const lock = () => d.s3.getLock(key, v)
  const before = (await lock()).retainUntil!
  createCase(ctx(s), { number: 'C-9', type: 'penalty-general-procedure' })
  linkRecordings(ctx(s), 'C-9', [rec.id], 'shows the incident')
  let rep = await runOffloadOnce(d)
  t.equal(rep.done.lock, 1, 'a lock job ran')
  t.same(await lock(), { retainUntil: before, legalHold: true }, 'open case: indefinite, so a legal hold on the object')
  closeCase(ctx(s), 'C-9', { reason: 'decided' })
  rep = await runOffloadOnce(d)
  const after = await lock()
  t.equal(after.legalHold, false, 'legal hold lifted once the deadline is a date again')
  const want = purgeAfter(
    new Date((s.db.prepare('SELECT deadline FROM retention WHERE recording_id = ?').get(rec.id) as { deadline: string }).deadline),
    POLICY,
  ) as Date
  t.equal(after.retainUntil?.toISOString(), want.toISOString(), 'COMPLIANCE retain-until extended to close + 30 years + grace')
  t.ok(after.retainUntil!.getTime() > before.getTime() + 20 * 365 * 86_400_000)
  const m = JSON.parse(await d.s3.getText(keys.manifest(d.settings.prefix, rec.id))) as { events: { type: string }[] }
  t.ok(
    m.events.some((e) => e.type === 'case-linked'),
    'the manifest follows the recording',
  )
  t.same((await verifyVault(s.db, s.vault)).problems, [])
})

t.test(
  'the gateway stops mid-upload: the persisted queue retries with backoff and resumes the multipart upload',
  { skip: !clusterDir && 'needs the cluster folder (BODYVAULT_S3_DIR) to stop and start the gateway' },
  async (t) => {
    const s = station(t)
    const r = await s.ingest(
      camera(t, [
        { time: ago(1), seq: 1, size: 31 * 1024 * 1024 + 7 },
        { time: ago(1, 9), seq: 2 },
      ]),
    )
    const [big, small] = r.ingested
    const d = deps(t, s, settings(bucketName('outage')))
    await d.s3.ensureBucket(true)
    const sent: number[] = []
    const orig = d.s3.uploadPart.bind(d.s3)
    d.s3.uploadPart = async (key, uploadId, n, body) => {
      const res = await orig(key, uploadId, n, body)
      sent.push(n)
      if (n === 3) stopGateway() // the outage starts right after part 3 is stored
      return res
    }
    const first = await runOffloadOnce(d)
    t.ok(first.outage, 'the pass noticed the outage and stopped')
    t.same(
      first.verified.map((v) => v.sha256),
      [],
      'nothing counted as offloaded',
    )
    const job = s.db
      .prepare("SELECT attempts, next_attempt_at AS next, progress, last_error AS err FROM offload_queue WHERE op = 'object' AND subject = ?")
      .get(big!.sha256) as { attempts: number; next: string; progress: string; err: string }
    t.equal(job.attempts, 1, 'the failure is persisted')
    t.ok(new Date(job.next).getTime() > Date.now() - 1000, 'with a next attempt time (backoff)')
    t.same(
      Object.keys((JSON.parse(job.progress) as { parts: Record<string, string> }).parts).sort(),
      ['1', '2', '3'],
      'the parts already stored are remembered',
    )
    t.match(job.err, /ECONNREFUSED|ECONNRESET|socket|connect/i)
    t.ok((await verifyVault(s.db, s.vault)).ok, 'verify is clean during the outage (nothing claimed)')

    const still = await runOffloadOnce(d)
    t.ok(still.outage && still.verified.length === 0, 'a pass during the outage changes nothing')
    await startGateway()
    await new Promise((res) => setTimeout(res, 600)) // let the backoff expire
    sent.length = 0
    let rep = await runOffloadOnce(d)
    for (let i = 0; i < 10 && rep.pending > 0; i++) {
      await new Promise((res) => setTimeout(res, 600))
      rep = await runOffloadOnce(d)
    }
    t.equal(rep.pending, 0, 'the queue drained after the gateway came back')
    t.ok(!sent.includes(1) && !sent.includes(2) && !sent.includes(3), `only the missing parts were sent after the outage (sent ${sent.join(',')})`)
    const verified = s.db.prepare('SELECT sha256 FROM offload_objects WHERE verified_at IS NOT NULL ORDER BY sha256').all() as { sha256: string }[]
    t.same(
      verified.map((x) => x.sha256),
      [big!.sha256, small!.sha256].sort(),
      'both verified',
    )
    const { key, v } = s.db.prepare('SELECT key, version_id AS v FROM offload_objects WHERE sha256 = ?').get(big!.sha256) as { key: string; v: string }
    t.same(await d.s3.hashVersion(key, v), { sha256: big!.sha256, size: big!.size }, 'the resumed upload is byte-identical')
    t.same((await verifyVault(s.db, s.vault)).problems, [])
  },
)

t.test('the local cache evicts only verified copies; an evicted object is fetched back on read', async (t) => {
  const s = station(t)
  const r = await s.ingest(
    camera(t, [
      { time: ago(5), seq: 1 },
      { time: ago(5, 9), seq: 2 },
    ]),
  )
  const [a, b] = r.ingested
  const d = deps(t, s, settings(bucketName('cache'), { cache: { keepDays: 0 } }))
  const orig = d.s3.putFile.bind(d.s3)
  d.s3.putFile = async (key, path, sha, size, lock) => {
    if (sha === b!.sha256) throw Object.assign(new Error('simulated: write refused'), { $metadata: { httpStatusCode: 400 } })
    return orig(key, path, sha, size, lock)
  }
  const rep = await runOffloadOnce(d)
  t.same(
    rep.evicted.map((e) => e.sha256),
    [a!.sha256],
    'the verified one is evicted (keepDays 0)',
  )
  t.notOk(existsSync(s.vault.objectPath(a!.sha256)), 'its local copy is gone')
  t.ok(existsSync(s.vault.objectPath(b!.sha256)), 'the one whose upload failed stays local')
  t.equal(rep.failed[0]?.subject, b!.sha256)
  const v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [], 'verify accepts an eviction on the record')
  t.match(v.notes.join('\n'), /1 object\(s\) are held only in S3/)

  const opened = await openObject({ db: s.db, vault: s.vault, s3: d.s3, logger: silentLogger() }, a!.sha256)
  t.ok(opened.fetched, 'fetched back from S3')
  t.equal(sha256File(opened.path), a!.sha256, 'and it hashes right')
  t.same((await verifyVault(s.db, s.vault)).problems, [], 'verify clean with it cached again')

  // An unrecorded disappearance is still caught, remote copy or not.
  d.s3.putFile = orig
  await runOffloadOnce({ ...d, settings: { ...d.settings, cache: { keepDays: null, maxBytes: null } } })
  rmSync(s.vault.objectPath(b!.sha256), { force: true })
  t.match(
    (await verifyVault(s.db, s.vault)).problems.map((p) => p.kind),
    ['object-missing'],
    'a local copy deleted without an eviction event is a problem',
  )
})

t.test('cache size limit: oldest verified objects go first, down to maxBytes', async (t) => {
  const s = station(t)
  const r = await s.ingest(
    camera(t, [
      { time: ago(5), seq: 1, size: 100_000 },
      { time: ago(5, 9), seq: 2, size: 100_000 },
      { time: ago(5, 10), seq: 3, size: 100_000 },
    ]),
  )
  const d = deps(t, s, settings(bucketName('size'), { cache: { maxBytes: 150_000 } }))
  const rep = await runOffloadOnce(d)
  t.equal(rep.evicted.length, 2, 'two of three evicted to get under 150 kB')
  t.equal(r.ingested.filter((x) => existsSync(s.vault.objectPath(x.sha256))).length, 1)
  t.same((await verifyVault(s.db, s.vault)).problems, [])
})

t.test('purge removes the remote copy too once its lock has expired, with a remote-deleted event', async (t) => {
  const s = station(t)
  // Recorded in 2024: its deadline (and so any lock) is already past: uploaded without retention.
  const r = await s.ingest(
    camera(t, [
      { time: '20240110080000', seq: 1 },
      { time: ago(1), seq: 2 },
    ]),
  )
  const [old, recent] = r.ingested
  setCategory(ctx(s), old!.id, 'patrol', 'routine')
  setCategory(ctx(s), recent!.id, 'patrol', 'routine')
  const d = deps(t, s, settings(bucketName('purge')))
  await runOffloadOnce(d)
  const rowOf = (sha: string) =>
    s.db.prepare('SELECT key, version_id AS v, retain_until AS until FROM offload_objects WHERE sha256 = ?').get(sha) as {
      key: string
      v: string
      until: string | null
    }
  t.equal(rowOf(old!.sha256).until, null, 'past deadline: no retain-until')
  const purged = await runPurge({ db: s.db, vault: s.vault, policy: POLICY, now: new Date(), dryRun: false, actor: 'station:test', logger: silentLogger() })
  t.same(
    purged.purged.map((p) => p.recordingId),
    [old!.id],
  )
  t.same((purged.purged[0] as { remoteDeleteQueued: string[] }).remoteDeleteQueued, [old!.sha256], 'remote deletion queued in the same transaction')
  const rep = await runOffloadOnce(d)
  t.equal(rep.done.delete, 1)
  t.ok(
    eventsFor(s.db, `object:${old!.sha256}`).some((e) => e.type === 'remote-deleted'),
    'remote-deleted event',
  )
  t.same(await d.s3.versions(rowOf(old!.sha256).key), [], 'no version left in the bucket')
  const m = JSON.parse(await d.s3.getText(keys.manifest(d.settings.prefix, old!.id))) as { recording: { status: string }; events: { type: string }[] }
  t.equal(m.recording.status, 'purged', 'the manifest keeps the tombstone')
  t.ok(m.events.some((e) => e.type === 'purged'))
  t.same((await verifyVault(s.db, s.vault)).problems, [])
})

t.test('bodyvault reindex --from-s3 rebuilds the catalog, with its hashes, into an empty data dir', async (t) => {
  const dir = tempDir(t)
  const bucket = bucketName('reindex')
  const cfg = join(dir, 'station.json')
  writeFileSync(
    cfg,
    JSON.stringify({
      station: { id: 'east-7' },
      auth: ROLLOUT_AUTH,
      docking: { mountRoots: [join(dir, 'roots')] },
      offload: { bucket, partSizeBytes: 5 << 20, multipartThresholdBytes: 5 << 20, retry: { baseSeconds: 0.1, maxSeconds: 0.5 } },
    }),
  )
  const e1 = { ...env, BODYVAULT_CONFIG: cfg, BODYVAULT_DATA_DIR: join(dir, 'data1') }
  const cam = camera(t, [
    { time: ago(4), seq: 1 },
    { time: ago(4, 9), seq: 2, imp: true },
    { time: ago(4, 10), seq: 3, size: 6 * 1024 * 1024 },
    { time: '20240105080000', seq: 4 },
  ])
  const ing = cli(['ingest', cam, '--json'], e1)
  t.equal(ing.code, 0, ing.stderr)
  const id = Object.fromEntries(
    (JSON.parse(ing.stdout) as { ingested: { id: number; sourcePath: string }[] }).ingested.map((x) => [
      /_(\d{4})(?:_IMP)?\.MP4$/.exec(x.sourcePath)![1]!,
      String(x.id),
    ]),
  )
  const sup = await signedInEnv(e1, { username: 'sup.zhao', roles: 'clerk,supervisor' })
  t.equal(cli(['categorize', id['0001']!, 'patrol', '--reason', 'routine'], sup).code, 0)
  t.equal(cli(['categorize', id['0004']!, 'patrol', '--reason', 'routine'], sup).code, 0)
  t.equal(cli(['case', 'create', 'XZ-7', '--type', 'compulsory-measures'], sup).code, 0)
  t.equal(cli(['case', 'link', 'XZ-7', id['0002']!, id['0003']!], sup).code, 0)
  t.equal(cli(['hold', 'place', id['0001']!, '--reason', 'complaint'], sup).code, 0)
  t.equal(cli(['retention', 'purge'], e1).code, 0, 'the 2024 patrol clip is purged before offload')
  const off = cli(['offload', 'run', '--json'], e1)
  t.equal(off.code, 0, off.stderr)
  const status = JSON.parse(cli(['offload', 'status', '--json'], e1).stdout) as {
    remote: { verified: number; legalHolds: number }
    ledger: { head: number; uploadedThrough: number }
    queue: unknown[]
  }
  t.equal(status.remote.verified, 3)
  t.equal(status.remote.legalHolds, 3, 'hold, open case, open case: all three under legal hold')
  t.same(status.queue, [])
  t.equal(status.ledger.uploadedThrough, status.ledger.head, 'the whole chain is in the bucket')
  const before = JSON.parse(cli(['recordings', '--json'], e1).stdout) as Record<string, unknown>[]

  const e2 = { ...env, BODYVAULT_CONFIG: cfg, BODYVAULT_DATA_DIR: join(dir, 'data2') }
  const re = cli(['reindex', '--from-s3', '--json'], e2)
  t.equal(re.code, 0, re.stdout + re.stderr)
  const rr = JSON.parse(re.stdout) as {
    recordings: number
    stored: number
    purged: number
    cases: number
    holds: number
    ledgerProblems: unknown[]
    objects: { remote: number; checked: number; missing: string[] }
    staleManifests: number[]
  }
  t.match(rr, {
    recordings: 4,
    stored: 3,
    purged: 1,
    cases: 1,
    holds: 1,
    ledgerProblems: [],
    objects: { remote: 3, checked: 3, missing: [] },
    staleManifests: [],
  })
  const after = JSON.parse(cli(['recordings', '--json'], e2).stdout) as Record<string, unknown>[]
  t.same(after, before, 'every recording, field by field: ids, hashes, sizes, categories, cases, status')
  // The station key is in no bucket: the new data dir has none, and verify says so; put back from its backup, all is well.
  t.match(cli(['verify'], e2), { code: 1, stdout: /^key\tstation-key\t.*is missing/m }, 'the key is not in the bucket')
  restoreKey(join(dir, 'data1'), join(dir, 'data2'))
  const v = cli(['verify', '--json'], e2)
  t.equal(v.code, 0, v.stdout)
  t.same((JSON.parse(v.stdout) as { problems: unknown[] }).problems, [], 'the rebuilt catalog verifies: chain, rows, remote-only objects on the record')
  t.same(
    JSON.parse(cli(['case', 'show', 'XZ-7', '--json'], e2).stdout).recordings,
    [Number(id['0002']), Number(id['0003'])].sort((a, b) => a - b),
  )
  t.match(cli(['reindex', '--from-s3'], e2), { code: 2, stderr: /is not empty/ }, 'never over an existing catalog')

  const e3 = { ...env, BODYVAULT_CONFIG: cfg, BODYVAULT_DATA_DIR: join(dir, 'data3') }
  const fetched = JSON.parse(cli(['reindex', '--from-s3', '--fetch', '--json'], e3).stdout) as { objects: { fetched: number } }
  t.equal(fetched.objects.fetched, 3, 'with --fetch every stored object comes back')
  for (const rec of before.filter((x) => x.status === 'stored')) {
    const sha = rec.sha256 as string
    const path = join(dir, 'data3', 'objects', sha.slice(0, 2), sha)
    t.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), sha, `recording ${String(rec.id)}: the bytes hash to its SHA-256`)
  }
  restoreKey(join(dir, 'data1'), join(dir, 'data3'))
  t.equal(cli(['verify'], e3).code, 0)
})

/** The station key file copied from one data dir to another, as a restore from the key's backup does (mode 0600). */
function restoreKey(from: string, to: string): void {
  mkdirSync(join(to, 'keys'), { recursive: true, mode: 0o700 })
  writeFileSync(join(to, 'keys', 'station.ed25519'), readFileSync(join(from, 'keys', 'station.ed25519')), { mode: 0o600 })
}
