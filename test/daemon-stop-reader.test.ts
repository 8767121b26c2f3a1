// A daemon's stop must not wait on a client that stopped reading. A paused
// player or a stalled download kept its response unfinished, fastify's close
// waited for it, and the stop with it: under systemd the daemon is SIGKILLed
// after TimeoutStopSec (120 s), before its media worker, jobs and last
// checkpoint have stopped. What would make the fix false: the stop still
// hanging on the stalled reader; or cutting a download that was still moving
// and would have ended within the grace (a clerk's export cut short by every
// restart). Both readers are real HTTP clients of a real daemon, on a 90 MB
// original.
import { createHash } from 'node:crypto'
import { get, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { CLOSE_GRACE_MS } from '../src/api/server.js'
import { startDaemon } from './daemon-support.js'
import { httpCall } from './http-support.js'
import { cli, makeCamera, tempDir } from './helpers.js'

interface Reader {
  /** Bytes received so far. */
  bytes: () => number
  /** Resolves when the response ends or breaks: the bytes, their SHA-256, and whether it ended whole. */
  done: Promise<{ bytes: number; sha256: string; complete: boolean }>
  /** Reads on at full speed (a paused reader sees that its connection was cut only when it reads again). */
  resume: () => void
}

/** GET `url` and read it: all of it at about `mibPerSec`, or (0) the first chunk only, then never again. */
function read(url: string, token: string, mibPerSec: number): Reader {
  let n = 0
  let stalled = mibPerSec === 0
  let response: IncomingMessage | undefined
  const hash = createHash('sha256')
  const done = new Promise<{ bytes: number; sha256: string; complete: boolean }>((resolve, reject) => {
    const req = get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      response = res
      if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`))
      const started = Date.now()
      res.on('data', (b: Buffer) => {
        n += b.length
        hash.update(b)
        if (stalled) return res.pause()
        if (mibPerSec === 0) return
        // Ahead of the pace: wait until the clock catches up.
        const ahead = n / (mibPerSec * 1048576) - (Date.now() - started) / 1000
        if (ahead > 0) {
          res.pause()
          setTimeout(() => res.resume(), ahead * 1000)
        }
      })
      res.on('end', () => resolve({ bytes: n, sha256: hash.digest('hex'), complete: res.complete }))
      res.on('error', () => resolve({ bytes: n, sha256: '', complete: false }))
      res.on('close', () => resolve({ bytes: n, sha256: '', complete: res.complete }))
    })
    req.on('error', () => resolve({ bytes: n, sha256: '', complete: false }))
  })
  return {
    bytes: () => n,
    done,
    resume: () => {
      stalled = false
      response?.resume()
    },
  }
}

t.test('a stop cuts a reader that stalled, after the grace, and lets one that keeps reading finish', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const env = { BODYVAULT_DATA_DIR: data }
  const cam = await makeCamera(join(dir, 'cam'), ['--size', '300M'])
  t.equal(cli(['ingest', cam], env).code, 0, 'ingested')
  const token = (JSON.parse(cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], env).stdout) as { token: string }).token
  const d = await startDaemon(t, { dataDir: data, roots: [join(dir, 'no-cameras')], configDir: dir, listenMs: 120_000 })
  const list = await httpCall(`${d.url}/v1/recordings?kind=video&limit=10`, { token })
  const big = (list.json.items as { id: number; sha256: string; size: number }[]).sort((a, b) => b.size - a.size)[0]!
  t.ok(big.size > 64 << 20, `a ${(big.size / 1048576).toFixed(0)} MiB original: more than the sockets hold`)
  const url = `${d.url}/v1/recordings/${big.id}/original?reason=${encodeURIComponent('stop test 2026-1')}`
  const stalled = read(url, token, 0)
  // Paced to end about 2/3 of the grace after the stop starts.
  const paceMiB = big.size / 1048576 / ((CLOSE_GRACE_MS * 0.66) / 1000)
  const steady = read(url, token, paceMiB)
  while (stalled.bytes() === 0 || steady.bytes() === 0) await new Promise((r) => setTimeout(r, 20))
  const t0 = Date.now()
  const stopping = d.stop()
  const limit = CLOSE_GRACE_MS + 20_000
  const raced = await Promise.race([stopping, new Promise<'held'>((r) => setTimeout(() => r('held'), limit))])
  const stopMs = Date.now() - t0
  const s = await steady.done
  // A stop still held after the limit: the stalled reader reads again, which lets the daemon finish (and the test end).
  stalled.resume()
  const st = await stalled.done
  const code = raced === 'held' ? `held for more than ${limit / 1000} s, then exit ${String(await stopping)}` : raced
  t.equal(code, 0, 'the daemon stopped in order (exit 0)')
  t.ok(stopMs < limit, `it stopped in ${(stopMs / 1000).toFixed(1)} s, not held by the stalled reader`)
  t.ok(stopMs >= CLOSE_GRACE_MS - 500, `not before the grace (${CLOSE_GRACE_MS / 1000} s): requests in flight were given it`)
  t.ok(s.complete && s.bytes === big.size, `the reader that kept reading got all ${s.bytes} of ${big.size} bytes`)
  t.equal(s.sha256, big.sha256, 'and they hash to the recording')
  t.notOk(st.complete, `the stalled one was cut (${st.bytes} bytes received)`)
  const cut = d.events('api.connections_cut')
  t.equal(cut.length, 1, 'the cut is logged')
  t.equal(cut[0]?.connections, 1, 'one connection: the stalled one')
  console.log(
    `# stop with a stalled reader and one at ${paceMiB.toFixed(0)} MiB/s: ${(stopMs / 1000).toFixed(1)} s; steady got ${s.bytes} bytes (${s.complete ? 'whole' : 'CUT'}); stalled ${st.bytes} (${st.complete ? 'WHOLE' : 'cut'}); ${cut.length} cut logged`,
  )
})
