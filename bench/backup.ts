/**
 * Backup benchmark: `bodyvault backup` of a vault of --size (default 2 GiB,
 * 64 MiB recordings of random bytes) against a baseline measured in the
 * same run on the same objects: `cp -r objects` then `sha256sum` of the
 * copies (what a careful admin would do by hand, without a consistent
 * catalog). Figures, each the median of --rounds:
 *   - full backup into an empty folder: seconds and MB/s;
 *   - incremental backup after one more camera (one 64 MiB recording);
 *   - incremental backup with nothing new.
 * Printed beside the load average and this process's CPU time.
 *
 *   node dist/bench/backup.js [--size 2G] [--work DIR] [--rounds 3]
 */
import { execFileSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { backupVault, type BackupReport } from '../src/backup/backup.js'
import { getProfile } from '../src/camera/profile.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { openStation, type Station } from '../src/station/station.js'

const { values } = parseArgs({ options: { size: { type: 'string', default: '2G' }, work: { type: 'string' }, rounds: { type: 'string', default: '3' } } })
const UNIT: Record<string, number> = { K: 1 << 10, M: 1 << 20, G: 1 << 30 }
const m = /^(\d+)([KMG])$/.exec(values.size)
if (!m) throw new Error('--size is like 2G or 512M')
const totalBytes = Number(m[1]) * UNIT[m[2]!]!
const FILE = 64 << 20
const rounds = Number(values.rounds)
const work = join(values.work ?? tmpdir(), `bodyvault-bench-backup-${process.pid}`)
const MB = 1e6

function camera(dir: string, device: string, files: number, day: number): string {
  const media = join(dir, 'DCIM', '100MEDIA')
  mkdirSync(media, { recursive: true })
  const buf = Buffer.allocUnsafe(4 << 20)
  for (let i = 1; i <= files; i++) {
    const fd = openSync(
      join(
        media,
        `${device}_012345_202611${String(day).padStart(2, '0')}08${String(Math.floor(i / 60) % 60).padStart(2, '0')}${String(i % 60).padStart(2, '0')}_${String(i).padStart(4, '0')}.MP4`,
      ),
      'w',
    )
    for (let n = 0; n < FILE; n += buf.length) writeSync(fd, randomFillSync(buf))
    closeSync(fd)
  }
  return dir
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const sh = (cmd: string): void => void execFileSync('bash', ['-c', cmd], { stdio: 'inherit' })
function timed<T>(f: () => Promise<T>): Promise<{ ms: number; r: T }> {
  const t0 = performance.now()
  return f().then((r) => ({ ms: performance.now() - t0, r }))
}

async function backup(st: Station, target: string): Promise<BackupReport> {
  return backupVault({
    db: st.db,
    dataDir: st.cfg.dataDir,
    target,
    stationId: st.cfg.station.id,
    actor: st.actor,
    logger: silentLogger(),
    chunkBytes: st.cfg.ingest.chunkBytes,
  })
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true })
  const data = join(work, 'data')
  const loaded = loadConfig({ env: { BODYVAULT_SYSTEM_CONFIG: 'none', BODYVAULT_DATA_DIR: data } })
  const cfg = { ...loaded, ingest: { ...loaded.ingest, minFreeBytes: 0 }, docking: { ...loaded.docking, mountRoots: [join(work, 'no-cameras')] } }
  const st = openStation({ config: cfg, logger: silentLogger() })
  try {
    const files = Math.max(1, Math.round(totalBytes / FILE))
    console.log(`making a vault of ${files} x 64 MiB recordings (${((files * FILE) / (1 << 30)).toFixed(2)} GiB) in ${data} ...`)
    const profile = getProfile(st.profiles, 'gat947')
    await st.ingest({ root: camera(join(work, 'cam1'), 'A1B2C3D', files, 20), profile, identity: { deviceId: null, officerId: null } })
    rmSync(join(work, 'cam1'), { recursive: true })
    const vaultBytes = files * FILE

    const base: number[] = []
    const full: number[] = []
    const inc: number[] = []
    const none: number[] = []
    for (let round = 1; round <= rounds; round++) {
      const b = join(work, `baseline-${round}`)
      sh('sync')
      const t0 = performance.now()
      sh(`cp -r ${join(data, 'objects')} ${b} && find ${b} -type f -print0 | xargs -0 sha256sum > /dev/null && sync`)
      base.push(performance.now() - t0)
      rmSync(b, { recursive: true })

      const target = join(work, `backup-${round}`)
      sh('sync')
      const f = await timed(async () => {
        const r = await backup(st, target)
        sh('sync')
        return r
      })
      full.push(f.ms)
      const n = await timed(() => backup(st, target))
      none.push(n.ms)
      await st.ingest({ root: camera(join(work, `more-${round}`), 'B765432', 1, 20 + round), profile, identity: { deviceId: null, officerId: null } })
      rmSync(join(work, `more-${round}`), { recursive: true })
      sh('sync')
      const i = await timed(async () => {
        const r = await backup(st, target)
        sh('sync')
        return r
      })
      inc.push(i.ms)
      console.log(
        `round ${round}: baseline ${(base.at(-1)! / 1000).toFixed(1)} s; full ${(f.ms / 1000).toFixed(1)} s (${f.r.objects.copied} objects); +64 MiB ${(i.ms / 1000).toFixed(2)} s (${i.r.objects.copied} copied); nothing new ${(n.ms / 1000).toFixed(2)} s`,
      )
      rmSync(target, { recursive: true })
    }
    const rate = (bytes: number, ms: number): string => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`
    const cpu = process.cpuUsage()
    console.log(`\nbackup of a ${(vaultBytes / (1 << 30)).toFixed(2)} GiB vault, median of ${rounds} round(s):`)
    console.log(`  baseline cp -r + sha256sum:   ${(median(base) / 1000).toFixed(1)} s  ${rate(vaultBytes, median(base))}`)
    console.log(
      `  bodyvault backup, full:       ${(median(full) / 1000).toFixed(1)} s  ${rate(vaultBytes, median(full))}  (${(median(full) / median(base)).toFixed(2)}x the baseline's time)`,
    )
    console.log(`  bodyvault backup, +64 MiB:    ${(median(inc) / 1000).toFixed(2)} s  ${rate(FILE, median(inc))} of new data`)
    console.log(`  bodyvault backup, nothing new: ${(median(none) / 1000).toFixed(2)} s`)
    console.log(
      `  load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (ingest and generation included)`,
    )
  } finally {
    st.close()
    rmSync(work, { recursive: true, force: true })
  }
}

await main()
