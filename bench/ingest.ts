/**
 * Ingest benchmark: our ingest against baselines measured in the same run
 * on the same files (page cache warm for all of them):
 *   - plain `cp -r` + `sync`
 *   - `cp -r`, then `sha256sum` of the source files and of the copies
 * plus peak RSS of an ingest of one 2 GiB file.
 *
 *   node dist/bench/ingest.js [--size 2G] [--work DIR] [--rounds 2]
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { packageRoot } from '../src/common/paths.js'

const { values } = parseArgs({ options: { size: { type: 'string', default: '2G' }, work: { type: 'string' }, rounds: { type: 'string', default: '2' } } })
const root = packageRoot()
const work = values.work ?? join(tmpdir(), 'bodyvault-bench')
const rounds = Number(values.rounds)
mkdirSync(work, { recursive: true })

function files(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out.sort()
}
const total = (dir: string): number => files(dir).reduce((a, f) => a + statSync(f).size, 0)
const sh = (cmd: string): void => void execFileSync('bash', ['-c', cmd], { stdio: 'inherit' })

/** Runs a command, returns wall ms and peak RSS (VmHWM of the process, polled). */
async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; rssMiB: number }> {
  sh('sync')
  const t0 = process.hrtime.bigint()
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] })
  let hwm = 0
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (m) hwm = Math.max(hwm, Number(m[1]))
    } catch {
      /* exited */
    }
  }, 20)
  const code = await new Promise<number | null>((r) => child.on('exit', r))
  clearInterval(poll)
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}`)
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, rssMiB: hwm / 1024 }
}

async function main(): Promise<void> {
  const cam = join(work, `cam-${values.size}`)
  if (!existsSync(join(cam, '.complete'))) {
    rmSync(cam, { recursive: true, force: true })
    console.log(`generating a ${values.size} fake camera in ${cam} ...`)
    sh(`bash ${root}/scripts/make-fake-camera --out ${cam} --size ${values.size} --quiet`)
    writeFileSync(join(cam, '.complete'), '')
  }
  const one = join(work, `one-${values.size}`)
  const oneFile = join(one, 'DCIM', 'A1B2C3D_012345_20261120080000_0001.MP4')
  if (!existsSync(join(one, '.complete'))) {
    rmSync(one, { recursive: true, force: true })
    mkdirSync(join(one, 'DCIM'), { recursive: true })
    sh(
      `cat ${files(cam)
        .filter((f) => !f.endsWith('.complete'))
        .join(' ')} > ${oneFile}`,
    )
    writeFileSync(join(one, '.complete'), '')
  }
  const bytes = total(cam)
  const mb = bytes / 1e6
  console.log(`camera: ${files(cam).length - 1} files, ${(bytes / 2 ** 30).toFixed(2)} GiB; single file: ${(statSync(oneFile).size / 2 ** 30).toFixed(2)} GiB`)
  sh(`cat ${cam}/*/*/* ${cam}/*/* ${oneFile} > /dev/null 2>&1 || true`)

  const node = process.execPath
  const cli = join(root, 'bin', 'bodyvault.js')
  const dst = join(work, 'dst')
  const best = { ingest: Infinity, cpSync: Infinity, cpSha: Infinity }
  for (let r = 0; r < rounds; r++) {
    rmSync(dst, { recursive: true, force: true })
    const ing = await measure(node, [cli, 'ingest', cam, '--json'], { ...process.env, BODYVAULT_DATA_DIR: dst, BODYVAULT_LOG_LEVEL: 'warn' })
    best.ingest = Math.min(best.ingest, ing.ms)
    rmSync(dst, { recursive: true, force: true })
    const cp = await measure('bash', ['-c', `cp -r ${cam} ${dst} && sync`])
    best.cpSync = Math.min(best.cpSync, cp.ms)
    rmSync(dst, { recursive: true, force: true })
    const cs = await measure('bash', ['-c', `cp -r ${cam} ${dst} && find ${cam} ${dst} -type f -print0 | xargs -0 sha256sum > /dev/null`])
    best.cpSha = Math.min(best.cpSha, cs.ms)
    console.log(`round ${r + 1}: ingest ${ing.ms.toFixed(0)} ms, cp+sync ${cp.ms.toFixed(0)} ms, cp+sha256sum ${cs.ms.toFixed(0)} ms`)
  }
  rmSync(dst, { recursive: true, force: true })
  const big = await measure(node, [cli, 'ingest', one, '--json'], { ...process.env, BODYVAULT_DATA_DIR: dst, BODYVAULT_LOG_LEVEL: 'warn' })
  rmSync(dst, { recursive: true, force: true })

  const rate = (ms: number): string => `${(mb / (ms / 1000)).toFixed(0)} MB/s`
  const r1 = best.cpSync / best.ingest
  const r2 = best.cpSha / best.ingest
  console.log('')
  console.log(`ingest (copy + SHA-256 + fsync + read-back + commit): ${rate(best.ingest)}  (${best.ingest.toFixed(0)} ms)`)
  console.log(`cp -r + sync:                                         ${rate(best.cpSync)}  (${best.cpSync.toFixed(0)} ms)`)
  console.log(`cp -r, then sha256sum of source and copy:             ${rate(best.cpSha)}  (${best.cpSha.toFixed(0)} ms)`)
  console.log(`ratio ingest / (cp+sync):       ${r1.toFixed(2)}x  (goal >= 0.7x) ${r1 >= 0.7 ? 'ok' : 'MISSED'}`)
  console.log(`ratio ingest / (cp+sha256sum):  ${r2.toFixed(2)}x  (goal >= 3x)   ${r2 >= 3 ? 'ok' : 'MISSED'}`)
  console.log(
    `peak RSS ingesting one ${(statSync(oneFile).size / 2 ** 30).toFixed(2)} GiB file: ${big.rssMiB.toFixed(0)} MiB (goal < 150 MiB) ${big.rssMiB < 150 ? 'ok' : 'MISSED'}; ${(statSync(oneFile).size / 1e6 / (big.ms / 1000)).toFixed(0)} MB/s on it`,
  )
  console.log(`(load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`)
}

await main()
