// The checkpoint log beside the catalog, as the first anchor: a history
// rewritten with every chain hash recomputed, the checkpoint rows and their
// events deleted, is caught from it alone; the station refuses to sign over
// it; a deleted or torn log is said; a restored backup is recorded as a
// restore at start, and a rollback that is not recorded is a problem.
import { spawnSync } from 'node:child_process'
import { appendFileSync, copyFileSync, existsSync, readFileSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { checkForRestore } from '../src/anchor/restore-check.js'
import { listCheckpoints } from '../src/catalog/checkpoints.js'
import { CHECKPOINT_LOG, readCheckpointLog } from '../src/ledger/checkpoint-log.js'
import { writeCheckpoint } from '../src/ledger/checkpoint.js'
import { loadOrCreateStationKey } from '../src/ledger/keys.js'
import { countEvents, eventsAfter, ledgerHead } from '../src/ledger/ledger.js'
import { recordRestore } from '../src/ledger/restore.js'
import { LedgerTree } from '../src/ledger/tree.js'
import { verifyVault } from '../src/verify/vault.js'
import { appendForeignEvent } from './ledger-support.js'
import { rewriteHistory } from './anchor-support.js'
import { station, tempDir, type TestStation } from './helpers.js'

async function withRecordings(t: Test, n = 3): Promise<TestStation> {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= n; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(100_000 + i, i))
  const s = station(t)
  await s.ingest(cam)
  return s
}

function events(s: TestStation, n: number, tag: string): void {
  for (let i = 0; i < n; i++) appendForeignEvent(s.db, { type: 'test', actor: 'station:test-station', subject: `thing:${tag}${i}`, payload: { i, tag } })
}

/** The attacker of test/anchor-support.ts, on a station of this test. */
function rewrite(s: TestStation): void {
  s.st.close()
  rewriteHistory(s.dataDir)
  s.reopen()
}

t.test('a rewritten history with every checkpoint row and event deleted is caught from the checkpoint log alone', async (t) => {
  const s = await withRecordings(t)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  const cp = writeCheckpoint(s.db, key).checkpoint
  const log = readCheckpointLog(join(s.dataDir, CHECKPOINT_LOG))
  t.match(
    log.entries,
    [{ line: 1, id: cp.id, treeSize: cp.treeSize, rootHash: cp.rootHash, note: cp.note, late: false }],
    'the checkpoint is in the log at once',
  )
  const clean = await verifyVault(s.db, s.vault)
  t.same(clean.problems, [], 'clean')
  t.match(clean.anchoring, { level: 'log file', latest: { id: cp.id }, log: { exists: true, hasLatest: true } })

  rewrite(s)
  const v = await verifyVault(s.db, s.vault)
  t.comment(v.problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`).join('\n'))
  t.same(listCheckpoints(s.db), [], 'no checkpoint left in the catalog')
  t.equal(countEvents(s.db, ['checkpoint']), 0, 'and none in the ledger')
  t.match(v.problems, [
    {
      kind: 'checkpoint',
      subject: 'checkpoint-log:1',
      detail: new RegExp(`first ${cp.treeSize} events no longer have the root signed in checkpoint-log:1 .*history was rewritten`),
    },
  ])
  t.equal(v.problems.length, 1, 'only the log knows')
  t.throws(
    () => writeCheckpoint(s.db, key),
    { code: 'LEDGER_INCONSISTENT', message: /no longer match the newest checkpoint in .*checkpoints\.log: history was rewritten/ },
    'and no checkpoint is signed over it',
  )
  t.equal(listCheckpoints(s.db).length, 0)
  const restore = await checkForRestore(s.st.anchors(), { detectedBy: 'first-start', reason: 'test' })
  t.equal(restore.outcome, 'diverged', 'at start: not a restore, nothing recorded')
  t.equal(countEvents(s.db, ['restored']), 0)
})

t.test('the log: a torn last line is a note, an edited line or a deleted log a problem; a deleted log is started again, late', async (t) => {
  const s = station(t)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  const path = join(s.dataDir, CHECKPOINT_LOG)
  events(s, 3, 'a')
  writeCheckpoint(s.db, key)
  events(s, 2, 'b')
  writeCheckpoint(s.db, key)
  t.same((await verifyVault(s.db, s.vault)).problems, [])

  appendFileSync(path, '{"at":"2026-01-01T00:00:00.000Z","id":3,"note":"bodyvault/te')
  let v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [], 'a torn last line (a crash while appending) is not a problem')
  t.match(v.notes.join('\n'), /checkpoint log line 3: the last line is incomplete/)
  events(s, 1, 'c')
  writeCheckpoint(s.db, key)
  v = await verifyVault(s.db, s.vault)
  t.match(
    v.problems,
    [{ subject: 'checkpoint-log:3', detail: /is not a checkpoint entry \(not JSON\): the log was edited/ }],
    'once more is appended after it, it is an edit',
  )

  const logs: Record<string, unknown>[] = []
  const logger = pino({ level: 'info' }, { write: (x: string) => void logs.push(JSON.parse(x) as Record<string, unknown>) })
  unlinkSync(path)
  v = await verifyVault(s.db, s.vault)
  t.match(v.problems, [{ subject: 'checkpoint-log', detail: /checkpoints\.log is missing although checkpoints were written to it: it was deleted/ }])
  events(s, 1, 'd')
  writeCheckpoint(s.db, key, { logger })
  t.match(
    logs.find((l) => l.event === 'anchor.log_missing'),
    { level: 50, checkpoints: 4 },
    'the station log says the checkpoint log was missing, as an error',
  )
  const again = readCheckpointLog(path)
  t.same(
    again.entries.map((e) => [e.id, e.late]),
    [
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ],
    'started again from the catalog: the older ones marked late',
  )
  v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [])
  t.match(v.notes.join('\n'), /3 checkpoint\(s\) were appended to the checkpoint log late/)
})

// A crash is not an attack: a kill -9 of the station between the first checkpoint's commit and its log
// line (the window writeCheckpoint leaves on purpose: no log line for a checkpoint that did not commit)
// must not leave a missing log, which verify can only read as deleted.
t.test('a kill -9 right after the first checkpoint commits, before its log line: not a deleted log; the next one appends it late', async (t) => {
  const s = station(t)
  const path = join(s.dataDir, CHECKPOINT_LOG)
  events(s, 3, 'a')
  loadOrCreateStationKey(s.dataDir, 'test-station')
  // A real station process, killed at the one moment between the two: its logger's line for the signed
  // checkpoint comes after the commit and before the log is touched (src/ledger/checkpoint.ts).
  // The modules beside this file's own (dist/src/ when the suite runs compiled, src/ through tsx): the child runs the same code.
  const url = (m: string): string => new URL(`../src/${m}`, import.meta.url).href
  const child = `
    const { openCatalog } = await import(${JSON.stringify(url('catalog/db.js'))})
    const { writeCheckpoint } = await import(${JSON.stringify(url('ledger/checkpoint.js'))})
    const { loadOrCreateStationKey } = await import(${JSON.stringify(url('ledger/keys.js'))})
    const db = openCatalog(${JSON.stringify(join(s.dataDir, 'catalog.db'))})
    const key = loadOrCreateStationKey(${JSON.stringify(s.dataDir)}, 'test-station')
    const kill = (o) => { if (o && o.event === 'ledger.checkpoint') process.kill(process.pid, 'SIGKILL') }
    writeCheckpoint(db, key, { logger: { info: kill, warn() {}, error() {} } })
    process.exit(3)`
  const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', child], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.signal, 'SIGKILL', `the station was killed after the commit (${r.stderr.trim().split('\n').slice(-3).join(' ')})`)
  s.reopen()
  t.equal(listCheckpoints(s.db).length, 1, 'the checkpoint committed')
  t.ok(existsSync(path), 'the checkpoint log exists')
  t.same(readCheckpointLog(path).entries, [], 'without the checkpoint: the kill came before its line')
  let v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [], 'verify finds no problem: a log behind by one is what a crash leaves')
  t.notMatch(v.notes.join('\n'), /deleted/)

  const logs: Record<string, unknown>[] = []
  const logger = pino({ level: 'info' }, { write: (x: string) => void logs.push(JSON.parse(x) as Record<string, unknown>) })
  events(s, 1, 'b')
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  writeCheckpoint(s.db, key, { logger })
  t.same(
    readCheckpointLog(path).entries.map((e) => [e.id, e.late]),
    [
      [1, true],
      [2, false],
    ],
    'the next checkpoint appends the one the kill left out, marked late',
  )
  t.notOk(
    logs.some((l) => l.event === 'anchor.log_missing'),
    'and the station log does not say the log was missing',
  )
  v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [])
  t.match(v.notes.join('\n'), /1 checkpoint\(s\) were appended to the checkpoint log late/)
})

/** A consistent copy of the catalog, as a backup would take it. */
async function backup(s: TestStation, dir: string): Promise<string> {
  const out = join(dir, `catalog-${Date.now()}.db`)
  await s.db.backup(out)
  return out
}

/** Puts a catalog copy back in place of the station's (the log file stays as it is: it is not in this backup). */
function putBack(s: TestStation, copy: string): void {
  s.st.close()
  for (const f of ['catalog.db-wal', 'catalog.db-shm']) rmSync(join(s.dataDir, f), { force: true })
  copyFileSync(copy, join(s.dataDir, 'catalog.db'))
  s.reopen()
}

t.test('a restored backup: a silent rollback is caught; at start it is recorded as a restore, then all is clean', async (t) => {
  const s = await withRecordings(t, 2)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  writeCheckpoint(s.db, key)
  const copy = await backup(s, tempDir(t))
  const backedUp = ledgerHead(s.db).seq
  events(s, 4, 'after-backup')
  const lost = writeCheckpoint(s.db, key).checkpoint
  events(s, 1, 'after-that')
  writeCheckpoint(s.db, key)
  const newest = listCheckpoints(s.db).at(-1)!

  putBack(s, copy)
  t.equal(ledgerHead(s.db).seq, backedUp, 'the catalog is the backup')
  const silent = await verifyVault(s.db, s.vault)
  t.match(silent.problems, [
    {
      kind: 'checkpoint',
      subject: 'checkpoint-log:2',
      detail: new RegExp(`checkpoint of ${lost.treeSize} events .* is ahead of the ledger, which has ${backedUp} events: .*without a restored event`),
    },
    { kind: 'checkpoint', subject: 'checkpoint-log:3' },
  ])
  t.equal(silent.problems.length, 2, 'a silent rollback is caught')
  t.notOk(writeCheckpoint(s.db, key).created, 'nothing new since the backup: its own latest checkpoint is the answer')
  events(s, 1, 'after-restore')
  t.throws(
    () => writeCheckpoint(s.db, key),
    { code: 'LEDGER_INCONSISTENT', message: /holds a checkpoint of \d+ events but the ledger has \d+: the catalog was rolled back/ },
    'but nothing is signed over a catalog behind its log',
  )

  // The first start: the log is ahead and nothing contradicts the ledger: a restore, said out loud.
  const r = await checkForRestore(s.st.anchors(), { detectedBy: 'first-start', reason: 'checkpoints outside the catalog were ahead of it at start' })
  t.equal(r.outcome, 'restored')
  t.match(r.event, {
    type: 'restored',
    subject: 'station:test-station',
    actor: 'station:test-station',
    payload: {
      from: { treeSize: newest.treeSize, rootHash: newest.rootHash, source: 'checkpoint-log:3', note: newest.note },
      to: {
        treeSize: backedUp + 1,
        rootHash: LedgerTree.build(s.db)
          .rootAt(backedUp + 1)
          .toString('hex'),
        checkpointId: 1,
      },
      detectedBy: 'first-start',
      statement: /^bodyvault-restore\/1\nbodyvault\/test-station\nfrom \d+ .*\nto \d+ .*\nat .*\n\n\u2014 bodyvault\/test-station /,
    },
  })
  const after = listCheckpoints(s.db).at(-1)!
  t.ok(after.treeSize > backedUp, 'a checkpoint is signed over the restored event at once')
  const v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [], 'the old branch in the log is explained by the restored event')
  t.match(v.notes.join('\n'), new RegExp(`restored event ${r.event!.seq}: the catalog was rolled back from ${newest.treeSize} to ${backedUp + 1} events`))
  t.equal((await checkForRestore(s.st.anchors(), { detectedBy: 'first-start', reason: 'again' })).outcome, 'in-step', 'the next start finds nothing to say')

  // The new branch grows past the old one; the log has both; all still clean.
  events(s, 10, 'new-branch')
  writeCheckpoint(s.db, key)
  t.same((await verifyVault(s.db, s.vault)).problems, [])
})

t.test('a restored event signed by another key does not explain a rollback', async (t) => {
  const s = station(t)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  events(s, 3, 'a')
  writeCheckpoint(s.db, key)
  const copy = await backup(s, tempDir(t))
  events(s, 3, 'b')
  writeCheckpoint(s.db, key)
  putBack(s, copy)
  const mallory = loadOrCreateStationKey(tempDir(t), 'test-station')
  const head = eventsAfter(s.db, 0, 1000).at(-1)!
  const from = readCheckpointLog(join(s.dataDir, CHECKPOINT_LOG)).entries.at(-1)!
  const forged = recordRestore(
    s.db,
    mallory,
    { treeSize: from.treeSize, rootHash: from.rootHash, source: 'log', note: null },
    { detectedBy: 'restore-command', reason: 'forged' },
  )
  t.ok(forged.seq > head.seq)
  const v = await verifyVault(s.db, s.vault)
  t.match(
    v.problems.map((p) => `${p.subject} ${p.detail}`).join('\n'),
    new RegExp(`event:${forged.seq} restored event ${forged.seq} .* is not signed by the station key`),
  )
  t.match(v.problems.map((p) => p.subject).join(' '), /checkpoint-log:2/, 'and the rollback stays unexplained')
  t.match(readFileSync(join(s.dataDir, CHECKPOINT_LOG), 'utf8'), /^\{"at"/)
})
