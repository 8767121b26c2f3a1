import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
  copyFileSync,
} from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { allRecordings } from '../src/catalog/recordings.js'
import { verifyVault } from '../src/verify/vault.js'
import { makeCamera, sha256sum, station, tempDir } from './helpers.js'

function cameraFiles(root: string): string[] {
  const out: string[] = []
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) walk(join(d, e.name), r)
      else if (e.isFile() && /\.(mp4|avi|wav|jpg|srt)$/i.test(e.name)) out.push(r)
    }
  }
  walk(root, '')
  return out.sort()
}

t.test('a fake camera is ingested: every object hashes (sha256sum) to what the camera holds', async (t) => {
  const cam = await makeCamera(join(tempDir(t), 'cam'), ['--broken'])
  const s = station(t)
  const report = await s.ingest(cam)
  const expected = cameraFiles(cam)
  t.equal(report.state, 'complete')
  t.same(report.failed, [])
  t.same(report.ingested.map((r) => r.sourcePath).sort(), expected, 'every media file ingested')
  t.ok(expected.length >= 8, `${expected.length} media files on the camera`)
  for (const r of report.ingested) {
    const obj = s.vault.objectPath(r.sha256)
    t.equal(sha256sum(join(cam, r.sourcePath)), r.sha256, `camera file hash: ${r.sourcePath}`)
    t.equal(sha256sum(obj), r.sha256, `vault object hash: ${r.sourcePath}`)
    t.equal(statSync(obj).mode & 0o777, 0o444, 'objects are read-only')
  }
  const rows = [...allRecordings(s.db)]
  t.equal(rows.length, expected.length)
  const imp = rows.filter((r) => r.important)
  t.ok(imp.length >= 1, 'the _IMP file is marked important')
  t.ok(
    imp.every((r) => r.category === 'evidence'),
    'important files start as evidence',
  )
  t.ok(rows.every((r) => r.deviceId && r.officerId && r.recordedSource === 'filename' && r.recordedOffset === '+08:00'))
  t.equal(readdirSync(s.vault.stagingDir).length, 0, 'staging is empty')
  const v = await verifyVault(s.db, s.vault)
  t.ok(v.ok, 'verify is clean')
  t.equal(v.checked.recordings, expected.length)

  t.test('docking the same camera again stores nothing new and says so', async (t) => {
    const objectsBefore = readdirSync(s.vault.objectsDir).flatMap((d) => readdirSync(join(s.vault.objectsDir, d))).length
    const again = await s.ingest(cam)
    t.equal(again.state, 'complete')
    t.equal(again.ingested.length, 0)
    t.equal(again.present.length, expected.length)
    t.same(
      again.present.map((p) => p.id).sort((a, b) => a - b),
      rows.map((r) => r.id).sort((a, b) => a - b),
    )
    const objectsAfter = readdirSync(s.vault.objectsDir).flatMap((d) => readdirSync(join(s.vault.objectsDir, d))).length
    t.equal(objectsAfter, objectsBefore)
    t.equal([...allRecordings(s.db)].length, expected.length)
  })

  t.test('a changed file at the same path is a new recording; the old one stays', async (t) => {
    const target = join(cam, report.ingested[0]!.sourcePath)
    chmodSync(target, 0o644)
    const fd = openSync(target, 'r+')
    writeSync(fd, Buffer.from('X'), 0, 1, 100)
    closeSync(fd)
    const r = await s.ingest(cam)
    t.equal(r.ingested.length, 1)
    t.equal(r.ingested[0]!.sourcePath, report.ingested[0]!.sourcePath)
    t.not(r.ingested[0]!.sha256, report.ingested[0]!.sha256)
    t.ok(existsSync(s.vault.objectPath(report.ingested[0]!.sha256)), 'the first version is kept')
    t.ok((await verifyVault(s.db, s.vault)).ok)
  })
})

t.test('links are never followed and pipes never opened; hidden and odd names are ingested under the bytes of their name', async (t) => {
  const dir = tempDir(t)
  const cam = join(dir, 'cam')
  const media = join(cam, 'DCIM', '100MEDIA')
  mkdirSync(media, { recursive: true })
  const outside = join(dir, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'A1B2C3D_012345_20261120080000_0001.MP4'), 'secret outside the camera')
  writeFileSync(join(media, 'A1B2C3D_012345_20261120080000_0002.MP4'), 'real clip bytes')
  symlinkSync(join(outside, 'A1B2C3D_012345_20261120080000_0001.MP4'), join(media, 'A1B2C3D_012345_20261120080000_0003.MP4'))
  symlinkSync(outside, join(cam, 'DCIM', '101MEDIA'))
  symlinkSync('../../../outside', join(media, 'up'))
  mkdirSync(join(cam, 'DCIM', '.hidden'))
  writeFileSync(join(cam, 'DCIM', '.hidden', 'A1B2C3D_012345_20261120080000_0004.MP4'), 'hidden')
  writeFileSync(join(media, '.A1B2C3D_012345_20261120080000_0005.MP4'), 'hidden file')
  writeFileSync(join(media, 'bad\u0007name.MP4'), 'control char')
  writeFileSync(join(media, 'line\nbreak.MP4'), 'newline')
  writeFileSync(join(media, 'latin1-\xe9.MP4'), 'ok name')
  mkdirSync(join(cam, 'System Volume Information'))
  writeFileSync(join(cam, 'System Volume Information', 'IndexerVolumeGuid.MP4'), 'system')
  execFileSync('mkfifo', [join(media, 'A1B2C3D_012345_20261120080000_0006.MP4')])
  const s = station(t)
  const r = await s.ingest(cam)
  t.equal(r.state, 'complete', 'links, pipes and system folders are not files of the camera: listed, not failures')
  const reasons = Object.fromEntries(r.skipped.map((x) => [x.sourcePath, x.reason]))
  t.same(r.ingested.map((x) => x.sourcePath).sort(), [
    'DCIM/.hidden/A1B2C3D_012345_20261120080000_0004.MP4',
    'DCIM/100MEDIA/.A1B2C3D_012345_20261120080000_0005.MP4',
    'DCIM/100MEDIA/A1B2C3D_012345_20261120080000_0002.MP4',
    'DCIM/100MEDIA/bad\\x07name.MP4',
    'DCIM/100MEDIA/latin1-é.MP4',
    'DCIM/100MEDIA/line\\x0abreak.MP4',
  ])
  const nl = r.ingested.find((x) => x.sourcePath.includes('line'))!
  t.equal(Buffer.from(nl.raw, 'base64').toString('utf8'), 'DCIM/100MEDIA/line\nbreak.MP4', 'the raw name keeps the newline')
  t.match(reasons['DCIM/100MEDIA/A1B2C3D_012345_20261120080000_0003.MP4'], /symbolic link/)
  t.match(reasons['DCIM/101MEDIA'], /symbolic link/)
  t.match(reasons['DCIM/100MEDIA/up'], /symbolic link/)
  t.match(reasons['System Volume Information'], /system folder/)
  t.match(reasons['DCIM/100MEDIA/A1B2C3D_012345_20261120080000_0006.MP4'], /named pipe/)
  const rows = [...allRecordings(s.db)]
  t.notOk(
    rows.some((x) => x.sha256 === sha256sum(join(outside, 'A1B2C3D_012345_20261120080000_0001.MP4'))),
    'nothing outside the root was read',
  )
})

t.test('a file that vanishes mid-session fails alone; the session is incomplete and resumes on re-dock', async (t) => {
  const dir = tempDir(t)
  const cam = await makeCamera(join(dir, 'cam'))
  const all = cameraFiles(cam)
  const victim = all[all.length - 2]!
  const keep = join(dir, 'keep')
  copyFileSync(join(cam, victim), keep)
  const s = station(t)
  let removed = false
  const r = await s.ingest(cam, {
    onProgress: (p) => {
      if (!removed && p.current === all[1]) {
        unlinkSync(join(cam, victim))
        removed = true
      }
    },
  })
  t.equal(r.state, 'incomplete')
  t.equal(r.failed.length, 1)
  t.equal(r.failed[0]!.sourcePath, victim)
  t.match(r.failed[0]!.error, /vanished/)
  t.equal(r.ingested.length, all.length - 1, 'the other files are in')
  t.ok((await verifyVault(s.db, s.vault)).ok)
  const row = s.db.prepare('SELECT state, files_failed, failures FROM ingest_sessions WHERE id = ?').get(r.sessionId) as {
    state: string
    files_failed: number
    failures: string
  }
  t.same([row.state, row.files_failed], ['incomplete', 1])
  t.match(row.failures, /vanished/)
  copyFileSync(keep, join(cam, victim))
  const again = await s.ingest(cam)
  t.equal(again.state, 'complete')
  t.same(
    again.ingested.map((x) => x.sourcePath),
    [victim],
  )
  t.equal(again.present.length, all.length - 1)
})

t.test('staging leftovers of a dead process are removed at start and never trusted', async (t) => {
  const s = station(t)
  const cam = join(tempDir(t), 'cam', 'DCIM')
  mkdirSync(cam, { recursive: true })
  writeFileSync(join(cam, 'A1B2C3D_012345_20261120080000_0001.MP4'), 'x'.repeat(1000))
  writeFileSync(join(s.vault.stagingDir, '999999999-abc-def.part'), 'half a file')
  await s.ingest(join(cam, '..'))
  t.same(readdirSync(s.vault.stagingDir), [])
})

t.test('a staged copy changed on disk between its write and its read-back is a failed file, never ingested', async (t) => {
  // The threat: the bytes that reached the staging file are not the ones hashed (a second writer, a bad disk or
  // driver). Here a second writer flips one byte of a range just after it was written, before it is read back:
  // in a small file (written and read back through the page cache) and a large one (O_DIRECT where the file
  // system allows it). A third file is left alone.
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  const small = 'DCIM/A1B2C3D_012345_20261120080000_0001.MP4'
  const large = 'DCIM/A1B2C3D_012345_20261120080500_0002.MP4'
  const fine = 'DCIM/A1B2C3D_012345_20261120081000_0003.MP4'
  writeFileSync(join(cam, small), Buffer.alloc(100_003, 1))
  writeFileSync(join(cam, large), Buffer.alloc((6 << 20) + 5, 2))
  writeFileSync(join(cam, fine), Buffer.alloc(50_000, 3))
  const flipped = new Set<string>()
  // The byte 5000 of the range just written (its last byte for the small file's tail), once per file.
  const afterStagedWrite = (sourcePath: string, path: string, pos: number, n: number): void => {
    if (sourcePath.endsWith(fine) || flipped.has(sourcePath) || (pos === 0 && sourcePath.endsWith(large))) return
    flipped.add(sourcePath)
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.from([0xee]), 0, 1, pos + Math.min(5000, n - 1))
    closeSync(fd)
  }
  const s = station(t)
  const r = await s.ingest(cam, { chunkBytes: 1 << 20, afterStagedWrite })
  t.equal(flipped.size, 2, 'both files were changed after a write')
  t.equal(r.state, 'incomplete')
  t.same(r.failed.map((f) => f.sourcePath).sort(), [small, large], 'the two changed copies failed')
  for (const f of r.failed)
    t.match(f.error, /read-back verification failed: the staged copy differs at byte \d+/, `${f.sourcePath}: reported as a read-back mismatch`)
  t.same(
    r.ingested.map((f) => f.sourcePath),
    [fine],
    'only the untouched file is ingested',
  )
  t.same(
    [...allRecordings(s.db)].map((x) => x.sourcePath),
    [fine],
    'the catalog records only the untouched file',
  )
  t.same(readdirSync(s.vault.stagingDir), [], 'no staged copy is left')
  t.ok((await verifyVault(s.db, s.vault)).ok, 'the vault verifies')
  // Docked again without the fault, the two are copied (not "present": they were never recorded).
  const again = await s.ingest(cam, { chunkBytes: 1 << 20 })
  t.same(again.ingested.map((f) => f.sourcePath).sort(), [small, large])
  t.same(
    again.present.map((f) => f.sourcePath),
    [fine],
  )
  t.equal(again.ingested.find((f) => f.sourcePath === large)?.sha256, sha256sum(join(cam, large)))

  // Without the read-back the same fault goes into the vault unseen: the read-back is what refuses it.
  const off = station(t)
  flipped.clear()
  const blind = await off.ingest(cam, { chunkBytes: 1 << 20, readBackVerify: false, afterStagedWrite })
  t.equal(blind.ingested.length, 3, 'readBackVerify off: all three recorded')
  t.notOk((await verifyVault(off.db, off.vault)).ok, 'and the vault holds objects that do not hash to their names')
})

t.test('identical content at two paths is stored once and recorded twice', async (t) => {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261120080000_0001.MP4'), 'same bytes')
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261120080500_0002.MP4'), 'same bytes')
  const s = station(t)
  const r = await s.ingest(cam)
  t.equal(r.ingested.length, 2)
  t.equal(r.ingested[0]!.sha256, r.ingested[1]!.sha256)
  t.equal(readdirSync(s.vault.objectsDir).flatMap((d) => readdirSync(join(s.vault.objectsDir, d))).length, 1)
  t.ok((await verifyVault(s.db, s.vault)).ok)
})

t.test('a full disk stops the session with a message that says what to do; nothing half-written is kept', async (t) => {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= 4; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(3 << 20, i))

  t.test('free space below the reserve: refused before copying', async (t) => {
    const s = station(t)
    const r = await s.ingest(cam, { minFreeBytes: Number.MAX_SAFE_INTEGER / 2 })
    t.equal(r.state, 'incomplete')
    t.equal(r.ingested.length, 0)
    t.equal(r.failed.length, 4)
    t.match(r.failed[0]!.error, /data disk is full.*free space in .* then dock again/)
  })

  const mnt = tempDir(t, 'bv-tmpfs-')
  let mounted = true
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt], { stdio: 'ignore' })
  } catch {
    mounted = false
  }
  const skip = mounted ? false : 'mounting a small tmpfs is not permitted here (needs root): the reserve check above covers the message'
  t.test('a real ENOSPC from a small file system mid-copy', { skip }, async (t) => {
    t.teardown(() => execFileSync('umount', ['-l', mnt]))
    const s = station(t, join(mnt, 'data'))
    const r = await s.ingest(cam)
    t.equal(r.state, 'incomplete')
    t.ok(r.ingested.length >= 1 && r.ingested.length < 4, `${r.ingested.length} files fit`)
    t.match(r.failed[0]!.error, /data disk is full/)
    t.same(readdirSync(s.vault.stagingDir), [], 'no staging leftovers')
    t.ok((await verifyVault(s.db, s.vault)).ok, 'what was committed verifies')
  })
})
