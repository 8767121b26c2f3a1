// The staged copy written with O_DIRECT (src/ingest/direct.ts) and read back
// from the disk (readback.ts): what would make it lie? A misaligned tail
// dropped or written twice, the probe's garbage left at the start, a change
// to the staged file the direct read-back does not see, a chunk size that
// is no multiple of the block.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { copyToStaging, type SourceRef } from '../src/ingest/copy.js'
import { IngestBuffers, ownLease, slotBytes } from '../src/ingest/buffers.js'
import { DIRECT_MIN_BYTES, stagingWriter } from '../src/ingest/direct.js'
import { sha256sum, tempDir } from './helpers.js'

const ref = (path: string): SourceRef => {
  const st = statSync(path, { bigint: true })
  return { absPath: Buffer.from(path), sourcePath: path, dev: st.dev, ino: st.ino }
}

/** Bytes that differ at every offset (a shifted or repeated block shows). */
function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n + 4)
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(i, i)
  return b.subarray(0, n)
}

async function directHere(dir: string): Promise<boolean> {
  const p = join(dir, 'probe.part')
  const fh = await open(p, 'wx')
  const w = await stagingWriter(p, fh, 1 << 20, DIRECT_MIN_BYTES)
  await w.close()
  await fh.close()
  return w.direct
}

t.test('copies of every awkward size are byte-exact, direct where the file system allows it', async (t) => {
  const dir = tempDir(t)
  const direct = await directHere(dir)
  t.comment(`O_DIRECT on the temp folder's file system: ${direct ? 'yes' : 'no (the ordinary path is what is tested)'}`)
  const sizes = [DIRECT_MIN_BYTES, DIRECT_MIN_BYTES + 1, DIRECT_MIN_BYTES + 4095, 9 * (1 << 20) + 123, (5 << 20) - 1]
  for (const chunk of [1 << 20, (1 << 16) + 100]) {
    for (const size of sizes) {
      const src = join(dir, `src-${size}.bin`)
      writeFileSync(src, pattern(size))
      const staging = join(dir, `copy-${size}-${chunk}.part`)
      const r = await copyToStaging(ref(src), staging, { chunk, readBack: true })
      t.equal(r.size, size, `${size} B in chunks of ${chunk}: size`)
      t.equal(r.sha256, sha256sum(src), `${size} B in chunks of ${chunk}: SHA-256 of the camera file`)
      t.ok(readFileSync(staging).equals(readFileSync(src)), `${size} B in chunks of ${chunk}: the staged copy is byte for byte the source`)
    }
  }
})

t.test('the direct read-back sees a staged copy changed after it was written', async (t) => {
  const dir = tempDir(t)
  const src = join(dir, 'src.bin')
  const bytes = pattern(12 << 20)
  writeFileSync(src, bytes)
  // The chunk holding `at` is changed on the disk side (a second writer, through the page cache) between its write and
  // its read-back, at a different place each time: the first chunk, the middle, the last byte of the file. Chunks of
  // 4 MiB are read back in 1 MiB pieces (READBACK_BYTES): the change is found in whichever piece holds it.
  for (const [chunk, at] of [1 << 20, 4 << 20].flatMap((c) => [0, 4096 + 7, (3 << 20) + 1, (12 << 20) - 1].map((a) => [c, a] as const))) {
    const staging = join(dir, `staging-${chunk}-${at}.part`)
    let flipped = false
    await t.rejects(
      copyToStaging(ref(src), staging, {
        chunk,
        readBack: true,
        afterWrite: (path, pos, n) => {
          if (at < pos || at >= pos + n) return
          flipped = true
          const fd = openSync(path, 'r+')
          writeSync(fd, Buffer.from([0x5a ^ bytes[at]!]), 0, 1, at)
          closeSync(fd)
        },
      }),
      new RegExp(`read-back verification failed: the staged copy differs at byte ${at} `),
      `chunks of ${chunk} B: a byte changed at offset ${at} is refused`,
    )
    t.ok(flipped, 'the byte was changed after its write')
    t.notOk(existsSync(staging), 'the bad staged copy is removed')
  }
})

t.test('a camera file read with O_DIRECT gives its newest bytes, also those not yet written back to the disk', async (t) => {
  const dir = tempDir(t)
  t.comment(`O_DIRECT on the temp folder's file system: ${(await directHere(dir)) ? 'yes' : 'no (the ordinary path is what is tested)'}`)
  // A direct read that skipped the page cache would return what the disk held before these writes: the old hash.
  for (const size of [8 << 20, (9 << 20) + 4095]) {
    const src = join(dir, `dirty-${size}.bin`)
    writeFileSync(src, pattern(size))
    const fd = openSync(src, 'r+')
    for (const at of [0, 4096, (4 << 20) + 1, size - 1]) writeSync(fd, Buffer.from([0xa5]), 0, 1, at)
    closeSync(fd)
    const staging = join(dir, `dirty-${size}.part`)
    const r = await copyToStaging(ref(src), staging, { chunk: 1 << 20, readBack: true })
    t.equal(r.sha256, sha256sum(src), `${size} B: the hash is of the bytes as last written`)
    t.ok(readFileSync(staging).equals(readFileSync(src)), `${size} B: the staged copy holds them`)
  }
})

t.test('the opens of a copy go at once: when one fails, no descriptor stays open and no staging file is left', async (t) => {
  const dir = tempDir(t)
  const src = join(dir, 'src.bin')
  writeFileSync(src, pattern(DIRECT_MIN_BYTES + 5))
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  // The camera file is not the one listed (another inode): refused while the staging file was being created beside it.
  const listed = ref(src)
  const other = join(dir, 'other.bin')
  writeFileSync(other, 'x')
  const staging = join(dir, 'a.part')
  await t.rejects(copyToStaging({ ...listed, ino: statSync(other, { bigint: true }).ino }, staging, { chunk: 1 << 20, readBack: true }), {
    message: /replaced/,
  })
  t.notOk(existsSync(staging), 'no staging file is left')
  // The staging file cannot be created (its folder is gone) while the camera file opened beside it.
  await t.rejects(copyToStaging(listed, join(dir, 'no-such-folder', 'b.part'), { chunk: 1 << 20, readBack: true }), { code: 'ENOENT' })
  // Closes that were not awaited by the failing step (the O_NONBLOCK descriptor's) settle within a tick or two.
  await new Promise((r) => setTimeout(r, 50))
  t.equal(fds(), before, 'every descriptor opened for the two copies is closed')
  // And the same copy goes through when nothing is wrong.
  const r = await copyToStaging(listed, join(dir, 'c.part'), { chunk: 1 << 20, readBack: true })
  t.equal(r.sha256, sha256sum(src))
})

// What made a direct ingest run at a tenth of `dd` (2026-11-30): slots cut from malloc'd memory, 16 bytes into a page,
// so the alignment probe settled on the device's 512-byte logical block and every 4 MiB direct write and read spanned
// 1025 pages (26-35 MiB/s against about 400 from a page-aligned buffer, same file, same minute). Slots must start on a
// page: the probe then accepts their first byte. With the old allocation it found 496 here (4080 on a 4 KiB-block disk).
t.test("a slot's memory starts on a page: the direct writer's probe accepts its first byte", async (t) => {
  const dir = tempDir(t)
  if (!(await directHere(dir))) {
    t.comment("no O_DIRECT on the temp folder's file system: the probe cannot tell where a buffer lies; not tested here")
    return
  }
  const budget = new IngestBuffers(3)
  const lease = await budget.acquire(3, 4 << 20)
  const p = join(dir, 'aligned.part')
  const fh = await open(p, 'wx')
  const w = await stagingWriter(p, fh, 4 << 20, DIRECT_MIN_BYTES, lease.slots)
  await w.close()
  await fh.close()
  t.ok(w.direct, 'the writer writes directly')
  t.same(
    lease.slots.map((s) => s.aligned),
    [0, 0, 0],
    'each slot of the budget is accepted for a direct write from its first byte',
  )
  t.ok(
    lease.slots.every((s) => s.raw.length === slotBytes(4 << 20)),
    'each slot is its full size',
  )
  lease.release()
  // A file's own slots (a copy outside any station's budget) are made the same way.
  const own = ownLease(2, 4 << 20)
  const q = join(dir, 'own.part')
  const fh2 = await open(q, 'wx')
  await (await stagingWriter(q, fh2, 4 << 20, DIRECT_MIN_BYTES, own.slots)).close()
  await fh2.close()
  t.same(
    own.slots.map((s) => s.aligned),
    [0, 0],
    "a file's own slots too",
  )
})
