// Checkpoints in the Object Lock bucket (Ceph RGW from scripts/s3-test-server):
// each one written under a COMPLIANCE lock nobody on the station can lift; a
// history rewritten with the checkpoint rows, their events and the log file
// all deleted is caught from the bucket; a restored backup (catalog and log
// both older) is found from the bucket at start and recorded as a restore.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectCommand, GetObjectRetentionCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { checkpointKeys } from '../src/anchor/bucket.js'
import { anchorOnce } from '../src/anchor/job.js'
import { checkForRestore } from '../src/anchor/restore-check.js'
import { listCheckpoints } from '../src/catalog/checkpoints.js'
import { silentLogger } from '../src/common/log.js'
import { CHECKPOINT_LOG } from '../src/ledger/checkpoint-log.js'
import { countEvents, ledgerHead } from '../src/ledger/ledger.js'
import { openStation, type Station } from '../src/station/station.js'
import { verifyVault } from '../src/verify/vault.js'
import { rewriteHistory } from './anchor-support.js'
import { GAT947, tempDir, testConfig } from './helpers.js'
import { appendForeignEvent } from './ledger-support.js'
import { useS3Server } from './s3-support.js'

const { env } = await useS3Server(t, 'anchor-bucket')
const bucketName = (tag: string): string => `bv-${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`

/** A station with offload to `bucket` (its own data dir), reopened by `reopen`. */
function bucketStation(t: Test, bucket: string): { dataDir: string; st: () => Station; reopen(): Station } {
  const dataDir = tempDir(t, 'bv-data-')
  const config = { ...testConfig(dataDir), offload: { bucket } }
  let st = openStation({ config, logger: silentLogger(), env })
  t.teardown(() => st.close())
  return {
    dataDir,
    st: () => st,
    reopen: () => {
      st.close()
      st = openStation({ config, logger: silentLogger(), env })
      return st
    },
  }
}

async function ingest(t: Test, st: Station, n: number): Promise<void> {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= n; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(50_000 + i, i))
  await st.ingest({ root: cam, profile: GAT947 })
}

function events(st: Station, n: number, tag: string): void {
  for (let i = 0; i < n; i++) appendForeignEvent(st.db, { type: 'test', actor: 'station:test-station', subject: `thing:${tag}${i}`, payload: { i, tag } })
}

const verify = (st: Station) => verifyVault(st.db, st.vault, { anchors: st.anchorSources() })

t.test('caught from the bucket: a rewritten history, with the checkpoint rows, their events and the log file deleted', async (t) => {
  const bucket = bucketName('anchor')
  const s = bucketStation(t, bucket)
  await ingest(t, s.st(), 3)
  s.st().checkpoint()
  t.match(await anchorOnce(s.st().anchors(), { force: true }), { bucket: { uploaded: 1 }, witnesses: [] })
  events(s.st(), 3, 'more')
  const cp = s.st().checkpoint().checkpoint!
  t.match(await anchorOnce(s.st().anchors(), { force: true }), { bucket: { uploaded: 1 } }, 'only the new one')

  // Written once, under a COMPLIANCE lock of ledger.bucketLockDays that the station's own credentials cannot lift.
  const key = checkpointKeys.one(`test-station/`, cp.treeSize, cp.rootHash)
  const s3 = s.st().anchors().bucket!.s3
  t.equal(await s3.getText(key), cp.note, 'the signed note, as stored')
  const ret = await s3.client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }))
  t.equal(ret.Retention?.Mode, 'COMPLIANCE')
  const days = (ret.Retention!.RetainUntilDate!.getTime() - Date.now()) / 86_400_000
  t.ok(days > 3649 && days < 3651, `locked for ledger.bucketLockDays (${days.toFixed(2)} days)`)
  const versions = await s3.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))
  const refused = await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versions.Versions![0]!.VersionId! })).then(
    () => 'deleted',
    (err: unknown) => String((err as Error).message ?? err),
  )
  t.match(refused, /object lock|AccessDenied/i, 'the locked version cannot be deleted with the station credentials')

  const clean = await verify(s.st())
  t.same(clean.problems, [])
  t.match(clean.anchoring, { level: 'bucket', bucket: { reachable: true, checkpoints: 2, hasLatest: true }, log: { hasLatest: true } })

  s.st().close()
  rewriteHistory(s.dataDir, { deleteLog: true })
  const st = s.reopen()
  t.same(listCheckpoints(st.db), [])
  t.equal(countEvents(st.db, ['checkpoint']), 0)
  const v = await verify(st)
  t.comment(v.problems.map((p) => `${p.subject} ${p.detail}`).join('\n'))
  t.ok(v.problems.length >= 1 && v.problems.every((p) => p.kind === 'checkpoint' && p.subject.startsWith('bucket:')), 'only the bucket knows')
  t.match(v.problems[0]!.detail, /no longer have the root signed in bucket:test-station\/checkpoints\/.*ledger history was rewritten/)
  t.equal((await checkForRestore(st.anchors(), { detectedBy: 'first-start', reason: 'test' })).outcome, 'diverged', 'not taken for a restore')

  // Whatever the station signs next does not wash it out: the bucket keeps the old checkpoints.
  events(st, 1, 'after')
  st.checkpoint()
  await anchorOnce(st.anchors(), { force: true })
  t.ok(
    (await verify(st)).problems.some((p) => p.subject.startsWith('bucket:') && /history was rewritten/.test(p.detail)),
    'still caught',
  )
})

t.test('a backup put back (catalog and log both older): found from the bucket at start, recorded as a restore', async (t) => {
  const bucket = bucketName('restore')
  const s = bucketStation(t, bucket)
  await ingest(t, s.st(), 2)
  s.st().checkpoint()
  await anchorOnce(s.st().anchors(), { force: true })
  const saved = tempDir(t)
  await s.st().db.backup(join(saved, 'catalog.db'))
  copyFileSync(join(s.dataDir, CHECKPOINT_LOG), join(saved, CHECKPOINT_LOG))
  const backedUp = ledgerHead(s.st().db).seq
  events(s.st(), 5, 'lost')
  const newest = s.st().checkpoint().checkpoint!
  await anchorOnce(s.st().anchors(), { force: true })

  s.st().close()
  for (const f of ['catalog.db-wal', 'catalog.db-shm']) rmSync(join(s.dataDir, f), { force: true })
  copyFileSync(join(saved, 'catalog.db'), join(s.dataDir, 'catalog.db'))
  copyFileSync(join(saved, CHECKPOINT_LOG), join(s.dataDir, CHECKPOINT_LOG))
  const st = s.reopen()
  const silent = await verify(st)
  t.match(silent.problems, [
    {
      kind: 'checkpoint',
      subject: /^bucket:/,
      detail: new RegExp(`checkpoint of ${newest.treeSize} events .* ahead of the ledger, which has ${backedUp} events`),
    },
  ])
  t.equal(silent.problems.length, 1, 'the rollback is caught from the bucket alone (the log went back too)')

  const r = await checkForRestore(st.anchors(), { detectedBy: 'first-start', reason: 'test' })
  t.equal(r.outcome, 'restored')
  t.match(r.event?.payload, {
    from: { treeSize: newest.treeSize, rootHash: newest.rootHash, source: /^bucket:/, note: newest.note },
    to: { treeSize: backedUp },
  })
  await anchorOnce(st.anchors(), { force: true })
  const v = await verify(st)
  t.same(v.problems, [], 'the old branch in the bucket is explained')
  t.match(v.anchoring, { level: 'bucket' })
  t.match(v.notes.join('\n'), /restored event \d+: the catalog was rolled back/)
})
