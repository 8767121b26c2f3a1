import { execFile } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import type { PeerCertificate } from 'node:tls'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { makeStationCertificate } from '../src/api/tls.js'
import { cli, makeCamera, ROLLOUT_AUTH, spawnCli, tempDir } from './helpers.js'
import { freePort, waitFor } from './daemon-support.js'

/**
 * "Done when" of issue 18, end to end: the daemon serves HTTPS with its own
 * station certificate; a new admin creates a supervisor and a clerk from
 * the CLI (and a second account of the clerk's, under the same police
 * number); the clerk and the supervisor sign in over HTTPS from other
 * processes (curl) with the public key pinned; the clerk requests an
 * export; the same person cannot approve it under their second account;
 * the supervisor approves; GET /v1/audit shows every step. Node's https
 * pins the key too, with checkServerIdentity.
 */
const run = promisify(execFile)
const dir = tempDir(t)
const data = join(dir, 'data')
mkdirSync(join(dir, 'media'))
const state = join(dir, 'state')
const env = { BODYVAULT_DATA_DIR: data, XDG_STATE_HOME: state }
const cam = await makeCamera(join(dir, 'cam'))
const ing = cli(['ingest', cam, '--json'], env)
if (ing.code !== 0) throw new Error(`ingest: ${ing.stderr}`)
const recordingId = (JSON.parse(ing.stdout) as { ingested: { id: number }[] }).ingested[0]!.id

const port = await freePort()
const cfgFile = join(dir, 'daemon.json')
writeFileSync(
  cfgFile,
  JSON.stringify({
    listen: `127.0.0.1:${port}`,
    station: { hostnames: ['station01.example.lan'] },
    tls: { mode: 'on' },
    auth: ROLLOUT_AUTH,
    docking: { mountRoots: [join(dir, 'media')], usb: false },
  }),
)
const child = spawnCli(['start', '--config', cfgFile], { ...env, BODYVAULT_LISTEN: '', BODYVAULT_LOG_LEVEL: 'info' }, { stdio: ['ignore', 'pipe', 'pipe'] })
let log = ''
for (const stream of [child.stdout!, child.stderr!])
  stream.on('data', (b: Buffer) => {
    log += b.toString()
  })
const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
t.teardown(async () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await exited
})
const certPath = join(data, 'tls', 'station.crt')
const t0 = Date.now()
await waitFor(
  () => {
    if (Date.now() - t0 > 85_000) throw new Error(`no HTTPS yet; the daemon's log: ${log.slice(-1500)}`)
    if (child.exitCode !== null) throw new Error(`the daemon exited: ${log.slice(-2000)}`)
    return log.includes('"event":"tls.ready"') && log.includes('bodyvault station ready')
  },
  'the daemon to serve HTTPS',
  90_000,
  200,
)
const shown = cli(['tls', 'show', '--json'], env)
if (shown.code !== 0) throw new Error(`tls show: ${shown.stderr}`)
const tls = JSON.parse(shown.stdout) as { spkiSha256: string; pinnedPubKey: string; names: string; pem: string }
const spki = createHash('sha256')
  .update(new X509Certificate(readFileSync(certPath)).publicKey.export({ type: 'spki', format: 'der' }))
  .digest('base64')
t.test('the station certificate', async (t) => {
  t.equal(tls.spkiSha256, spki, 'tls show prints the SHA-256 of the served public key')
  t.match(tls.names, /DNS:station01\.example\.lan/, 'station.hostnames are in the SANs')
  t.match(tls.names, /IP Address:127\.0\.0\.1/, 'and the listen address')
  t.match(log, /"spkiSha256"/, 'the daemon logs the pin at start')
})
const base = `https://localhost:${port}`

/** curl in its own process, the station's public key pinned (and the certificate as the only trusted CA). */
async function curl(args: string[], pin = tls.pinnedPubKey): Promise<{ code: number; status: number; body: string; headers: string }> {
  const hdr = join(dir, `h-${Math.random().toString(36).slice(2)}`)
  try {
    const r = await run('curl', ['-sS', '--cacert', certPath, '--pinnedpubkey', pin, '-D', hdr, '-w', '\n%{http_code}', ...args], { maxBuffer: 1 << 24 })
    const i = r.stdout.lastIndexOf('\n')
    return { code: 0, status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i), headers: readFileSync(hdr, 'utf8') }
  } catch (err) {
    return { code: (err as { code: number }).code, status: 0, body: String((err as { stderr: string }).stderr), headers: '' }
  }
}

t.test('pinning: the right key connects, a wrong pin or plain HTTP does not; HSTS on TLS', async (t) => {
  const ok = await curl([`${base}/healthz`])
  t.equal(ok.status, 200)
  t.match(ok.headers, /strict-transport-security: max-age=31536000/i, 'HSTS')
  const wrong = await curl([`${base}/healthz`], `sha256//${Buffer.alloc(32, 7).toString('base64')}`)
  t.equal(wrong.code, 90, 'curl refuses a server whose key is not the pinned one (exit 90)')
  const plain = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/healthz`]).then(
    (r) => r.stdout,
    () => 'refused',
  )
  t.not(plain, '200', 'no plain HTTP on the TLS port')
  const pinned = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${base}/healthz`,
      {
        ca: readFileSync(certPath),
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          const got = createHash('sha256')
            .update(new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' }))
            .digest('base64')
          return got === tls.spkiSha256 ? undefined : new Error(`public key ${got} is not the pinned one`)
        },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    req.end()
  })
  t.equal(pinned, 200, "Node's https with checkServerIdentity pinning the SPKI")
})

t.test('done when: CLI accounts, HTTPS sign-in, separation of duties by person, the audit trail', async (t) => {
  const admin = cli(['user', 'create', 'admin1', '--display', 'Admin One', '--police-no', 'A0001', '--role', 'admin', '--json'], env)
  t.equal(admin.code, 0, admin.stderr)
  const adminOtp = JSON.parse(admin.stdout).oneTimePassword as string
  t.match(
    cli(['user', 'create', 'x.y', '--display', 'X', '--police-no', 'X1', '--role', 'clerk'], env),
    { code: 2, stderr: /sign in first/ },
    'once an admin exists, only an admin makes accounts',
  )
  const login = cli(['login', 'admin1'], { ...env, BODYVAULT_PASSWORD: adminOtp, BODYVAULT_NEW_PASSWORD: 'Admin-Chooses-A-Long-One-1' })
  t.equal(login.code, 0, login.stderr)
  const otp: Record<string, string> = {}
  for (const [u, name, no, role] of [
    ['wang.sup', 'Wang Fang', '020002', 'supervisor'],
    ['li.clerk', 'Li Ming', '010001', 'clerk'],
    ['li.sup', 'Li Ming', '010001', 'supervisor'],
  ] as const) {
    const r = cli(['user', 'create', u, '--display', name, '--police-no', no, '--role', role, '--unit', 'U-0101', '--json'], env)
    t.equal(r.code, 0, r.stderr)
    otp[u] = JSON.parse(r.stdout).oneTimePassword
  }
  const jar = (u: string) => join(dir, `jar-${u}`)
  const session: Record<string, string> = {}
  for (const u of ['wang.sup', 'li.clerk', 'li.sup', 'admin1']) {
    const password = u === 'admin1' ? 'Admin-Chooses-A-Long-One-1' : otp[u]
    const body = JSON.stringify({ username: u, password, ...(u === 'admin1' ? {} : { newPassword: `Quiet-River-Lantern-${u.length}7` }) })
    const r = await curl(['-c', jar(u), '-H', 'content-type: application/json', '--data', body, `${base}/v1/session`])
    t.equal(r.status, 200, `${u} signs in over HTTPS, the key pinned: ${r.body.slice(0, 200)}`)
    t.match(r.headers, /set-cookie: bv_session=bvs_[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure/i, 'the cookie is Secure on TLS')
    session[u] = JSON.parse(r.body).csrfToken
  }
  const as = (u: string, method: string, path: string, body?: unknown) =>
    curl([
      '-b',
      jar(u),
      '-X',
      method,
      '-H',
      `x-csrf-token: ${session[u]}`,
      '-H',
      `origin: ${base}`,
      ...(body === undefined ? [] : ['-H', 'content-type: application/json', '--data', JSON.stringify(body)]),
      `${base}${path}`,
    ])
  const req = await as('li.clerk', 'POST', '/v1/exports', { recordingIds: [recordingId], reason: 'court order 2027-031', recipient: 'District court' })
  t.equal(req.status, 201, req.body)
  const id = JSON.parse(req.body).id
  const self = await as('li.sup', 'POST', `/v1/exports/${id}/approve`, {})
  t.equal(self.status, 403, 'the same person (police number 010001) cannot approve under a second account')
  t.match(JSON.parse(self.body), { error: { code: 'SELF_APPROVAL' } })
  const ok = await as('wang.sup', 'POST', `/v1/exports/${id}/approve`, { reason: 'order checked' })
  t.equal(ok.status, 200, 'the supervisor approves')
  const audit = await as('admin1', 'GET', '/v1/audit?limit=1000')
  t.equal(audit.status, 200)
  const items = JSON.parse(audit.body).items as { type: string; actor: string; payload: Record<string, unknown> }[]
  const steps = items.map((e) => `${e.type} ${e.payload.user ?? ''} ${e.actor}`)
  t.comment(steps.join('\n'))
  for (const [type, user, actor] of [
    ['user-created', 'admin1', 'user:os:'],
    ['signed-in', 'admin1', 'user:admin1'],
    ['password-changed', 'admin1', 'user:admin1'],
    ['user-created', 'wang.sup', 'user:admin1'],
    ['user-created', 'li.clerk', 'user:admin1'],
    ['user-created', 'li.sup', 'user:admin1'],
    ['password-changed', 'li.clerk', 'user:li.clerk'],
    ['signed-in', 'li.clerk', 'user:li.clerk'],
    ['signed-in', 'li.sup', 'user:li.sup'],
    ['signed-in', 'wang.sup', 'user:wang.sup'],
    ['export-requested', 'li.clerk', 'user:li.clerk'],
    ['export-approved', 'wang.sup', 'user:wang.sup'],
  ] as const)
    t.ok(
      items.some((e) => e.type === type && e.payload.user === user && e.actor.startsWith(actor)),
      `the audit shows ${type} of ${user} by ${actor}`,
    )
  const approved = items.find((e) => e.type === 'export-approved')!
  t.match(approved.payload, { person: '020002', exportId: id })
  const requested = items.find((e) => e.type === 'export-requested')!
  t.match(requested.payload, { person: '010001' })
  const cliLogin = items.find((e) => e.type === 'signed-in' && e.payload.kind === 'cli')!
  t.match(cliLogin.payload, { user: 'admin1', component: 'cli', outcome: 'success' }, 'the CLI login is in the ledger too')
  const out = await as('li.clerk', 'DELETE', '/v1/session')
  t.equal(out.status, 204, 'the clerk signs out')
  const after = JSON.parse((await as('admin1', 'GET', '/v1/audit?type=signed-out&user=li.clerk')).body).items
  t.equal(after.length, 1, 'signed-out, filtered by type and user')
})

t.test('bodyvault status and doctor reach the HTTPS daemon, trusting only the certificate on disk', async (t) => {
  const st = cli(['status', '--json', '--config', cfgFile], env)
  t.equal(st.code, 0, st.stderr)
  t.match(JSON.parse(st.stdout), { station: { id: String } }, 'status over HTTPS')
  const doc = cli(['doctor', '--json', '--config', cfgFile], env)
  const listen = (JSON.parse(doc.stdout) as { checks: { check: string; ok: boolean; detail: string }[] }).checks.find((c) => c.check === 'listen')
  t.match(listen, { ok: true, detail: new RegExp(`answers at https://127\\.0\\.0\\.1:${port}`) }, 'doctor asks /healthz over HTTPS')
  // An impostor's certificate on disk (another key): the daemon's key is not the pinned one, and status says so, sending nothing.
  const other = await makeStationCertificate({ stationId: 'impostor', dns: ['localhost'], ips: ['127.0.0.1'] })
  writeFileSync(join(dir, 'other.crt'), other.cert)
  writeFileSync(join(dir, 'other.key'), other.key)
  const cfg2 = join(dir, 'daemon-other.json')
  writeFileSync(
    cfg2,
    JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), tls: { mode: 'on', cert: join(dir, 'other.crt'), key: join(dir, 'other.key') } }),
  )
  const bad = cli(['status', '--config', cfg2], env)
  t.not(bad.code, 0)
  t.match(bad.stderr, /does not serve the certificate on disk|cannot ask the daemon/, bad.stderr)
})
