/**
 * What a media worker that died (kill -9, a crash, a power cut) may leave
 * behind, and how a later worker tells: this boot's id (a pid is only
 * meaningful within one boot), whether a pid is alive, and an ffmpeg still
 * running detached in its own process group. Linux /proc; elsewhere the
 * checks say "unknown" and nothing is killed.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { errnoCode } from '../common/errors.js'

/** This boot's id ('' when the system does not say). */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoCode(err) === 'EPERM'
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Kills an ffmpeg (and its process group) left behind by a dead worker,
 * but only when /proc shows its command line still names the job's temp
 * file: a reused pid is never touched. Linux only; elsewhere a no-op.
 */
export async function killOrphan(pid: number, tempPath: string): Promise<boolean> {
  let cmdline: string
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return false
  }
  if (!cmdline.split('\0').some((a) => a.includes(tempPath))) return false
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      return false
    }
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) {
    // A killed child of a dead parent is reaped by init; wait until it is gone.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    if (stat === '' || / Z /.test(stat)) break
    await sleep(20)
  }
  return true
}
