// A stop asked for while the daemon is still starting (systemd's SIGTERM
// during a slow start, or Ctrl-C) must be an orderly stop once it has
// started, not the signal's default: the process killed half-started, with
// no exit code and no `station.stop` line. Each round sends SIGTERM at the
// first line the daemon logs, long before it listens, and prints what it saw.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from './daemon-support.js'
import { ROLLOUT_AUTH, spawnCli, tempDir } from './helpers.js'

const ROUNDS = 3

for (let round = 1; round <= ROUNDS; round++) {
  t.test(`round ${round}: SIGTERM at the first log line`, async (t) => {
    const dir = tempDir(t)
    const roots = join(dir, 'roots')
    mkdirSync(roots)
    const cfgFile = join(dir, 'config.json')
    writeFileSync(cfgFile, JSON.stringify({ auth: ROLLOUT_AUTH, listen: `127.0.0.1:${await freePort()}`, docking: { mountRoots: [roots] } }))
    const child = spawnCli(
      ['start', '--config', cfgFile],
      { BODYVAULT_DATA_DIR: join(dir, 'data'), BODYVAULT_LOG_LEVEL: 'info', BODYVAULT_LISTEN: '' },
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const events: string[] = []
    const other: string[] = []
    let buf = ''
    let sentAfter: string | null = null
    child.stderr!.on('data', (b: Buffer) => {
      buf += b.toString('utf8')
      const parts = buf.split('\n')
      buf = parts.pop() ?? ''
      for (const l of parts) {
        if (!l.startsWith('{')) {
          other.push(l)
          continue
        }
        const ev = String((JSON.parse(l) as { event?: string }).event ?? '(no event)')
        events.push(ev)
        if (sentAfter === null) {
          sentAfter = ev
          child.kill('SIGTERM')
        }
      }
    })
    child.stdout!.resume()
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])))
    t.comment(
      `round ${round}: SIGTERM sent after "${sentAfter}"; exit ${code}${signal ? ` (${signal})` : ''}; events: ${events.join(', ')}${other.length ? `; other output: ${other.slice(0, 3).join(' | ')}` : ''}`,
    )
    t.equal(signal, null, 'not killed by the signal')
    t.equal(code, 0, 'an orderly exit')
    t.ok(events.includes('station.stop'), 'the stop is logged')
    t.ok(events.indexOf(sentAfter ?? '') < events.indexOf('station.stop'), 'the signal came before the daemon had started')
  })
}
