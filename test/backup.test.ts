// Issue 15, "backup and restore": a backup of a live station is a data dir
// that verify passes; runs again are incremental; what a part keeps in the
// data dir is backed up without being named; a corrupt object is never
// copied as good; restore refuses a non-empty folder; the schedule runs the
// same backup in the daemon; the catalog is snapshotted before a migration.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { backupVault, type BackupReport } from '../src/backup/backup.js'
import { restoreBackup } from '../src/backup/restore.js'
import { startNightlyBackup } from '../src/backup/schedule.js'
import { migrations } from '../src/catalog/migrations.js'
import { silentLogger } from '../src/common/log.js'
import { countEvents, eventsFor } from '../src/ledger/ledger.js'
import { openStation } from '../src/station/station.js'
import { verifyVault } from '../src/verify/vault.js'
import { cli, makeCamera, station, tempDir, testConfig, type TestStation } from './helpers.js'

const CHUNK = 1 << 20

function backup(s: TestStation, target: string): Promise<BackupReport> {
  return backupVault({ db: s.db, dataDir: s.dataDir, target, stationId: s.st.cfg.station.id, actor: s.st.actor, logger: silentLogger(), chunkBytes: CHUNK })
}

/** verify, run on a copy as on a station (the copy is opened as a data dir and closed again). */
async function verifyDir(dir: string): Promise<{ ok: boolean; problems: unknown[]; objects: number }> {
  const st = openStation({ config: testConfig(dir), logger: silentLogger(), create: false })
  try {
    const r = await verifyVault(st.db, st.vault, { chunkBytes: CHUNK })
    return { ok: r.ok, problems: r.problems, objects: r.checked.objects }
  } finally {
    st.close()
  }
}

function objectNames(dir: string): string[] {
  const root = join(dir, 'objects')
  return readdirSync(root).flatMap((p) => readdirSync(join(root, p)))
}

t.test('backup', async (t) => {
  const shared = tempDir(t)
  const camA = await makeCamera(join(shared, 'a'))
  const camB = await makeCamera(join(shared, 'b'), ['--device', 'B7654321'.slice(0, 7), '--start', '2026-11-21T08:00:00'])

  t.test('a full backup is a data dir that verify passes; the next runs copy only what is new', async (t) => {
    const s = station(t)
    t.equal((await s.ingest(camA)).state, 'complete')
    t.notOk(s.st.checkpoint().error, 'a checkpoint, so there is a key')
    // State files: the real ones (the checkpoint log, the vault marker, the key), one of a part to come, and what must stay behind.
    mkdirSync(join(s.dataDir, 'anchors'))
    writeFileSync(join(s.dataDir, 'anchors', 'checkpoints.log'), 'line 1\n')
    mkdirSync(join(s.dataDir, 'run'), { recursive: true })
    writeFileSync(join(s.dataDir, 'run', 'status.secret'), 'secret')
    writeFileSync(join(s.dataDir, 'staging', '1-half.part'), 'half')
    mkdirSync(join(s.dataDir, 'snapshots'))
    writeFileSync(join(s.dataDir, 'snapshots', 'catalog-v1.db'), 'old')
    const target = join(tempDir(t), 'nas', 'bodyvault')

    const full = await backup(s, target)
    t.match(full, { full: true, objects: { copied: objectNames(s.dataDir).length, present: 0, gone: 0, corrupt: [] } })
    t.same(objectNames(target).sort(), objectNames(s.dataDir).sort(), 'every object, under its hash')
    t.same(
      full.stateFiles.copied,
      ['anchors/checkpoints.log', 'checkpoints.log', 'keys/station.ed25519', 'vault.json'],
      'state files found by walking, run/ staging/ snapshots/ left out',
    )
    t.equal(statSync(join(target, 'keys', 'station.ed25519')).mode & 0o777, 0o600, 'the key keeps its mode')
    t.equal(statSync(join(target, 'keys')).mode & 0o777, 0o700, 'and its folder')
    t.notOk(existsSync(join(target, 'run')), 'no daemon credential in the copy')
    t.same(readdirSync(join(target, 'staging')), [], 'nothing in flight')
    t.notOk(existsSync(join(target, 'snapshots')))
    t.match(await verifyDir(target), { ok: true, problems: [], objects: objectNames(s.dataDir).length }, 'verify passes on the copy')

    const again = await backup(s, target)
    t.match(again, { full: false, objects: { copied: 0, bytesCopied: 0, present: objectNames(s.dataDir).length }, stateFiles: { copied: [] } })
    t.ok(again.ledgerHead > full.ledgerHead, 'the copy has the ledger up to the first backup’s own event')

    t.equal((await s.ingest(camB)).state, 'complete')
    writeFileSync(join(s.dataDir, 'anchors', 'checkpoints.log'), 'line 1\nline 2\n')
    const before = new Set(objectNames(target))
    const third = await backup(s, target)
    const fresh = objectNames(s.dataDir).filter((n) => !before.has(n))
    t.ok(fresh.length > 0)
    t.match(
      third,
      { full: false, objects: { copied: fresh.length, present: before.size }, stateFiles: { copied: ['anchors/checkpoints.log'] } },
      'only the new camera’s objects',
    )
    t.equal(readFileSync(join(target, 'anchors', 'checkpoints.log'), 'utf8'), 'line 1\nline 2\n')
    t.match(await verifyDir(target), { ok: true, problems: [] })

    const events = eventsFor(s.db, 'station:test-station').filter((e) => e.type === 'backup-completed')
    t.equal(events.length, 3, 'a backup-completed event per run')
    t.match(events[2]!.payload, {
      target,
      full: false,
      objectsCopied: fresh.length,
      objectsPresent: before.size,
      objectsCorrupt: 0,
      ledgerHead: third.ledgerHead,
    })
    t.equal(events[2]!.seq, third.eventSeq)
  })

  t.test('a target that is not a backup of this station, or is inside the vault, is refused untouched', async (t) => {
    const s = station(t)
    await s.ingest(camA)
    const dir = tempDir(t)
    const foreign = join(dir, 'photos')
    mkdirSync(foreign)
    writeFileSync(join(foreign, 'holiday.jpg'), 'x')
    await t.rejects(backup(s, foreign), { code: 'BACKUP_TARGET', message: /not empty and holds no bodyvault backup/ })
    t.same(readdirSync(foreign), ['holiday.jpg'])
    await t.rejects(backup(s, join(s.dataDir, 'backup')), { code: 'BACKUP_TARGET', message: /inside it/ })
    const other = join(dir, 'other')
    await backup(s, other)
    const info = JSON.parse(readFileSync(join(other, 'backup.json'), 'utf8')) as { stationId: string }
    writeFileSync(join(other, 'backup.json'), JSON.stringify({ ...info, stationId: 'east-7' }))
    await t.rejects(backup(s, other), { code: 'BACKUP_TARGET', message: /backup of station east-7/ })
  })

  t.test('a source object that does not hash to its name is reported and never copied as good', async (t) => {
    const s = station(t)
    await s.ingest(camA)
    const victim = objectNames(s.dataDir)[0]!
    const path = join(s.dataDir, 'objects', victim.slice(0, 2), victim)
    chmodSync(path, 0o644)
    writeFileSync(path, 'tampered')
    const target = join(tempDir(t), 'b')
    const r = await backup(s, target)
    t.equal(r.objects.corrupt.length, 1)
    t.equal(r.objects.corrupt[0]!.sha256, victim)
    t.notOk(objectNames(target).includes(victim), 'not in the copy')
    t.same(readdirSync(join(target, 'staging')), [], 'no leftover')
    t.match(eventsFor(s.db, 'station:test-station').at(-1)!.payload, { objectsCorrupt: 1 })
  })

  t.test('restore: into an empty or new folder only; every object hashed; the result verifies', async (t) => {
    const s = station(t)
    await s.ingest(camA)
    s.st.checkpoint()
    const dir = tempDir(t)
    const b = join(dir, 'b')
    await backup(s, b)
    const busy = join(dir, 'busy')
    mkdirSync(busy)
    writeFileSync(join(busy, 'x'), 'x')
    await t.rejects(restoreBackup({ source: b, target: busy, chunkBytes: CHUNK }), { code: 'RESTORE_NOT_EMPTY' })
    t.same(readdirSync(busy), ['x'], 'nothing changed')
    await t.rejects(restoreBackup({ source: join(dir, 'nothing'), target: join(dir, 'r0'), chunkBytes: CHUNK }), { code: 'RESTORE_SOURCE' })
    const r = await restoreBackup({ source: b, target: join(dir, 'r1'), chunkBytes: CHUNK })
    t.match(r, { backup: { stationId: 'test-station' }, objects: { copied: objectNames(b).length, corrupt: [] } })
    t.equal(statSync(join(dir, 'r1', 'keys', 'station.ed25519')).mode & 0o777, 0o600)
    t.notOk(existsSync(join(dir, 'r1', 'backup.json')), 'the backup’s description stays with the backup')
    t.match(await verifyDir(join(dir, 'r1')), { ok: true, problems: [] })
    // A backup object gone bad (a failing NAS disk) is left out and said.
    const victim = objectNames(b)[0]!
    const p = join(b, 'objects', victim.slice(0, 2), victim)
    chmodSync(p, 0o644)
    writeFileSync(p, 'bit rot')
    const r2 = await restoreBackup({ source: b, target: join(dir, 'r2'), chunkBytes: CHUNK })
    t.same(
      r2.objects.corrupt.map((c) => c.sha256),
      [victim],
    )
    t.notOk(objectNames(join(dir, 'r2')).includes(victim))
    t.equal((await verifyDir(join(dir, 'r2'))).ok, false, 'and verify on the restore says what is missing')
  })

  t.test('the CLI: backup DIR --json, restore BACKUP --to DIR, verify the restore', async (t) => {
    const dir = tempDir(t)
    const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
    t.equal(cli(['ingest', camA], env).code, 0)
    const b = cli(['backup', join(dir, 'b'), '--json'], env)
    t.equal(b.code, 0, b.stderr)
    t.match(JSON.parse(b.stdout), { full: true, objects: { corrupt: [] } })
    const human = cli(['backup', join(dir, 'b')], env)
    t.match(human.stdout, /^incremental backup of the ledger through event \d+ into .* 0 object\(s\) copied/)
    const busy = cli(['restore', join(dir, 'b'), '--to', join(dir, 'data')], env)
    t.match(busy, { code: 2, stderr: /^bodyvault: RESTORE_NOT_EMPTY: .*nothing was changed/ })
    const r = cli(['restore', join(dir, 'b'), '--to', join(dir, 'restored')], env)
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /restored the backup of station station-01 .* object\(s\) .* hashed and copied/)
    const v = cli(['verify', '--json'], { BODYVAULT_DATA_DIR: join(dir, 'restored') })
    t.equal(v.code, 0, v.stdout)
  })

  t.test('the schedule runs the same backup in the daemon and records it', async (t) => {
    const s = station(t)
    await s.ingest(camA)
    const target = join(tempDir(t), 'nightly')
    const runs: (BackupReport | Error)[] = []
    const job = startNightlyBackup({
      db: s.db,
      dataDir: s.dataDir,
      target,
      schedule: '* * * * * *', // every second (node-cron's seconds field)
      timezone: 'Asia/Shanghai',
      stationId: 'test-station',
      actor: s.st.actor,
      chunkBytes: CHUNK,
      logger: silentLogger(),
      onRun: (r) => runs.push(r),
    })
    const until = Date.now() + 20_000
    while (runs.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
    await job.stop()
    t.ok(runs.length >= 2, `${runs.length} scheduled runs`)
    t.notOk(
      runs.some((r) => r instanceof Error),
      'no failed run',
    )
    t.match(runs[1], { full: false, objects: { copied: 0 } }, 'the second is incremental')
    t.equal(countEvents(s.db, ['backup-completed']), runs.length)
    t.match(await verifyDir(target), { ok: true })
  })
})

t.test('before a migration, the catalog is snapshotted; a current catalog is not', async (t) => {
  const dir = tempDir(t)
  mkdirSync(dir, { recursive: true })
  // A catalog as an older bodyvault left it: the first migrations only.
  const old = migrations.filter((m) => m.version <= 5)
  const db = new Database(join(dir, 'catalog.db'))
  db.pragma('journal_mode = WAL')
  for (const m of old) db.exec(m.sql)
  db.pragma(`user_version = ${old.at(-1)!.version}`)
  db.close()
  const st = openStation({ config: testConfig(dir), logger: silentLogger() })
  st.close()
  const snaps = readdirSync(join(dir, 'snapshots'))
  t.equal(snaps.length, 1)
  t.match(snaps[0], new RegExp(`^catalog-v5-to-v${migrations.at(-1)!.version}-`))
  const snap = new Database(join(dir, 'snapshots', snaps[0]!), { readonly: true })
  t.equal(snap.pragma('user_version', { simple: true }), 5, 'the snapshot is the catalog before the migration')
  snap.close()
  openStation({ config: testConfig(dir), logger: silentLogger() }).close()
  t.equal(readdirSync(join(dir, 'snapshots')).length, 1, 'no migration, no new snapshot')
})
