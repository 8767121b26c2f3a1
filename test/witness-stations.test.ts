// Stations witnessing each other: three real `bodyvault start` daemons on
// loopback ports, each listing the other two as witnesses (C2SP tlog-witness
// add-checkpoint under /v1/witness). Each checkpoint is co-signed only after
// a consistency proof from what the witness co-signed before; an evidence
// package carries the co-signatures and fails offline with a witness key
// changed; a restored backup is accepted with its `restored` event; a silent
// rollback and a rewritten history (checkpoint rows and log deleted) are
// refused, the refusals recorded in the witnesses' ledgers, and caught by
// `verify` from the witnesses alone.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { allCosignatures, cosignaturesOf } from '../src/catalog/anchors.js'
import { latestCheckpoint } from '../src/catalog/checkpoints.js'
import { silentLogger } from '../src/common/log.js'
import { buildEvidencePackage } from '../src/export/package.js'
import { verifyEvidencePackage } from '../src/export/verify-package.js'
import { CHECKPOINT_LOG } from '../src/ledger/checkpoint-log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { loadOrCreateStationKey, type StationKey } from '../src/ledger/keys.js'
import { openStation, type Station } from '../src/station/station.js'
import { verifyVault } from '../src/verify/vault.js'
import { rewriteHistory } from './anchor-support.js'
import { freePort, type RunningDaemon, startDaemon, waitFor } from './daemon-support.js'
import { cli, GAT947, tempDir, testConfig } from './helpers.js'
import { appendForeignEvent } from './ledger-support.js'

interface Node {
  id: string
  dataDir: string
  port: number
  url: string
  key: StationKey
  daemon?: RunningDaemon
}

const configDir = tempDir(t)
const roots = [join(tempDir(t), 'no-cameras-here')]
const nodes: Node[] = []
for (const id of ['station-a', 'station-b', 'station-c']) {
  const dataDir = tempDir(t, 'bv-data-')
  const port = await freePort()
  // The keys exist before the daemons start, so that each config can name the others' keys.
  nodes.push({ id, dataDir, port, url: `http://127.0.0.1:${port}`, key: loadOrCreateStationKey(dataDir, id) })
}
const [A, B, C] = nodes as [Node, Node, Node]
const others = (n: Node): Node[] => nodes.filter((x) => x !== n)
const ledger = { anchorSeconds: 0.3, witnessTimeoutSeconds: 5, checkpointEvery: 1000, checkpointMinutes: 60 }
const fileConfig = (n: Node): Record<string, unknown> => ({
  station: { id: n.id, name: n.id },
  ledger,
  witnesses: others(n).map((p) => ({ vkey: p.key.vkey, url: p.url })),
})

async function start(n: Node): Promise<RunningDaemon> {
  n.daemon = await startDaemon(t, { dataDir: n.dataDir, roots, configDir, config: fileConfig(n), port: n.port })
  return n.daemon
}

/** The station in this process, as a CLI command beside the daemon opens it; closed when `t` ends. */
function open(t: Test, n: Node): Station {
  const base = testConfig(n.dataDir)
  const st = openStation({
    config: {
      ...base,
      station: { ...base.station, id: n.id, name: n.id },
      ledger: { ...base.ledger, ...ledger },
      witnesses: fileConfig(n).witnesses as Station['cfg']['witnesses'],
    },
    logger: silentLogger(),
  })
  t.teardown(() => st.close())
  return st
}

function events(st: Station, k: number, tag: string): void {
  for (let i = 0; i < k; i++)
    appendForeignEvent(st.db, { type: 'test', actor: `station:${st.cfg.station.id}`, subject: `thing:${tag}${i}`, payload: { i, tag } })
}

const witnessed = (st: Station): string[] => cosignaturesOf(st.db, latestCheckpoint(st.db)!.id).map((c) => c.witness)
const verify = (st: Station) => verifyVault(st.db, st.vault, { anchors: st.anchorSources() })
const typesAbout = (st: Station, n: Node): string[] => eventsFor(st.db, `log:${n.key.name}`).map((e) => e.type)

async function backup(st: Station, n: Node, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  await st.db.backup(join(dir, 'catalog.db'))
  copyFileSync(join(n.dataDir, CHECKPOINT_LOG), join(dir, CHECKPOINT_LOG))
}

/** Puts a backup (catalog and checkpoint log) back into a stopped station's data dir. */
function putBack(n: Node, dir: string): void {
  for (const f of ['catalog.db-wal', 'catalog.db-shm']) rmSync(join(n.dataDir, f), { force: true })
  copyFileSync(join(dir, 'catalog.db'), join(n.dataDir, 'catalog.db'))
  copyFileSync(join(dir, CHECKPOINT_LOG), join(n.dataDir, CHECKPOINT_LOG))
}

async function ingest(t: Test, st: Station, k: number): Promise<void> {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= k; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(40_000 + i, i))
  await st.ingest({ root: cam, profile: GAT947 })
}

const saved = tempDir(t)

t.test('three stations witness each other: each checkpoint co-signed by the two others', async (t) => {
  // One after the other: three node processes starting at once on a loaded 2-core machine can miss startDaemon's 30 s.
  for (const n of nodes) await start(n)
  const a = open(t, A)
  await ingest(t, a, 3)
  const cp = a.checkpoint().checkpoint!
  // A's daemon takes the checkpoint (signed by a CLI beside it) to B and C on its own.
  await waitFor(() => witnessed(a).length === 2, "A's checkpoint co-signed by B and C through A's daemon", 30_000)
  t.same(witnessed(a).sort(), [B.key.name, C.key.name])
  t.equal(latestCheckpoint(a.db)!.id, cp.id)
  // C first, then B: B's backup then holds what it co-signed of C's newest history (see the rollback test).
  for (const n of [C, B]) {
    const st = open(t, n)
    events(st, 4, 'first')
    st.checkpoint()
    await st.anchorNow()
    t.same(
      witnessed(st).sort(),
      others(n)
        .map((x) => x.key.name)
        .sort(),
      `${n.id} co-signed by the two others`,
    )
    await backup(st, n, join(saved, n.id))
    events(st, 3, 'after-backup')
    st.checkpoint()
    await st.anchorNow()
    t.equal(witnessed(st).length, 2, `${n.id}: the checkpoint after the backup co-signed too`)
  }
  events(a, 2, 'more')
  a.checkpoint()
  await a.anchorNow()
  t.equal(witnessed(a).length, 2)
  const v = await verify(a)
  t.same(v.problems, [])
  t.match(v.anchoring, {
    level: 'witnessed by 2',
    log: { hasLatest: true },
    bucket: null,
    witnesses: [
      { name: B.key.name, reachable: true, cosignedLatest: true },
      { name: C.key.name, reachable: true, cosignedLatest: true },
    ],
  })
  t.equal(A.daemon!.events('anchor.cosigned').length >= 2, true, "A's daemon log says so")
})

t.test('an evidence package carries the co-signatures; offline it verifies with the witness keys and fails with one changed', async (t) => {
  const a = open(t, A)
  const out = join(tempDir(t), 'package.zip')
  const r = await buildEvidencePackage({
    db: a.db,
    vault: a.vault,
    recordingIds: [1, 2],
    requestedBy: 'user:clerk',
    approvedBy: 'user:supervisor',
    reason: 'witness test',
    recipient: 'court',
    out,
    station: a.cfg.station,
    anchor: () => a.anchorNow(),
  })
  t.equal(cosignaturesOf(a.db, r.checkpoint.id).length, 2, "the package's checkpoint was co-signed before it was built")
  const ok = await verifyEvidencePackage(out, {
    trustedKey: A.key.publicKey,
    witnessKeys: [B, C].map((n) => ({ name: n.key.name, publicKey: n.key.publicKey })),
  })
  t.same(ok.failures, [])
  t.ok(ok.ok)
  t.match(ok.witnesses, [
    { name: B.key.name, verified: true },
    { name: C.key.name, verified: true },
  ])
  const mallory = loadOrCreateStationKey(tempDir(t), 'station-c')
  const bad = await verifyEvidencePackage(out, {
    trustedKey: A.key.publicKey,
    witnessKeys: [B, { key: mallory }].map((n) => ({ name: n.key.name, publicKey: n.key.publicKey })),
  })
  t.notOk(bad.ok, 'one witness key changed: the package does not verify')
  t.match(bad.failures, [{ code: 'cosignature-missing', file: 'checkpoint.note', detail: /no valid co-signature by witness bodyvault\/station-c/ }])
  const cliOk = cli(['verify-package', out, '--key-hex', A.key.publicKey.toString('hex'), '--witness-key', B.key.vkey, '--witness-key', C.key.vkey])
  t.equal(cliOk.code, 0, cliOk.stdout + cliOk.stderr)
  t.match(cliOk.stdout, /co-signed by 2 witness\(es\), 2 checked with --witness-key; 0 failure\(s\)/)
  const cliBad = cli(['verify-package', out, '--witness-key', B.key.vkey, '--witness-key', mallory.vkey])
  t.equal(cliBad.code, 1)
  t.match(cliBad.stdout, /FAIL cosignature-missing checkpoint\.note: /)
})

t.test('a restored backup: said out loud at start, and the witnesses accept the new branch with its restored event', async (t) => {
  await B.daemon!.stop()
  putBack(B, join(saved, B.id))
  {
    const b = open(t, B)
    const v = await verify(b)
    t.ok(
      v.problems.some((p) => p.subject === `witness:${A.key.name}` && /ahead of the ledger.*without a restored event/.test(p.detail)),
      'before the start: the rollback is caught from the witnesses',
    )
    b.close()
  }
  const d = await start(B)
  await waitFor(() => d.events('anchor.restored').length === 1, 'B to record the restore at start', 30_000)
  const b = open(t, B)
  await waitFor(() => witnessed(b).length === 2, "B's new branch co-signed by A and C", 30_000)
  const restored = eventsFor(b.db, `station:${B.id}`).filter((e) => e.type === 'restored')
  t.match(restored, [{ payload: { detectedBy: 'first-start', from: { source: /^witness:|^checkpoint-log/ } } }])
  for (const n of [A, C]) {
    const st = open(t, n)
    t.same(typesAbout(st, B), ['witness-restore-accepted'], `${n.id} accepted the restore with its event, and recorded it`)
  }
  const v = await verify(b)
  t.same(v.problems, [])
  t.match(v.notes.join('\n'), /restored event \d+: the catalog was rolled back/)
  // B's own witness records went back with its catalog: A's next checkpoint is co-signed by it all the same.
  const a = open(t, A)
  events(a, 1, 'after-b-restore')
  a.checkpoint()
  await a.anchorNow()
  t.equal(witnessed(a).length, 2)
})

t.test('a silent rollback is refused by the witnesses and recorded in their ledgers', async (t) => {
  await C.daemon!.stop()
  putBack(C, join(saved, C.id))
  const c = open(t, C)
  events(c, 1, 'on-the-old-copy')
  c.checkpoint()
  await c.anchorNow()
  t.same(witnessed(c), [], 'nobody co-signs it')
  for (const n of [A, B]) {
    const st = open(t, n)
    t.same(typesAbout(st, C), ['witness-refused'], `${n.id} refused it and recorded the refusal`)
  }
  const v = await verify(c)
  t.ok(
    v.problems.some((p) => p.subject.startsWith('witness:') && p.kind === 'checkpoint'),
    'verify on C catches it from the witnesses',
  )
  await c.anchorNow()
  for (const n of [A, B]) t.same(typesAbout(open(t, n), C), ['witness-refused'], `${n.id}: the same refusal retried is recorded once`)
})

t.test('a rewritten history with the checkpoint rows and the log deleted: refused by a witness, caught from it', async (t) => {
  await A.daemon!.stop()
  rewriteHistory(A.dataDir, { recordingId: 2, deleteLog: true })
  const a = open(t, A)
  t.equal(allCosignatures(a.db).length, 0)
  events(a, 1, 'after-rewrite')
  t.ok(a.checkpoint().created, 'nothing left on the station contradicts it: the station signs')
  await a.anchorNow()
  t.same(witnessed(a), [], 'but B refuses to co-sign it (C is down)')
  t.same(typesAbout(open(t, B), A), ['witness-refused'])
  const v = await verify(a)
  t.comment(v.problems.map((p) => `${p.subject} ${p.detail}`).join('\n'))
  const fromB = v.problems.filter((p) => p.subject === `witness:${B.key.name}`)
  t.match(
    fromB,
    [{ kind: 'checkpoint', detail: /no longer have the root signed in witness:bodyvault\/station-b .*history was rewritten/ }],
    'caught from the witness',
  )
  t.same(
    v.problems.filter((p) => p.kind !== 'checkpoint'),
    [],
    'the chain and the catalog alone look fine',
  )
  t.notOk(
    v.problems.some((p) => p.subject.startsWith('checkpoint-log') || p.subject.startsWith('checkpoint:')),
    'neither the catalog nor the (new) log knows anything',
  )
})
