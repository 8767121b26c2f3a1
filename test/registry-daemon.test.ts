// Issue 17 through the station daemon (in process, USB through the fake
// backend, cameras as folders under the watched root): who a recording
// belongs to. What would make the promise false: generic-camera footage
// with no officer although the roster says who carried the camera; a pool
// checkout ignored in favour of the standing assignment; a file name that
// says officer A silently overwritten (or silently kept) when the
// assignment says B; unit statistics that follow an officer's move
// backwards in time; a recording deleted on the camera before docking that
// nobody notices.
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import { loadProfiles } from '../src/camera/profile.js'
import type { Db } from '../src/catalog/db.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { FakeUsbBackend } from '../src/dock/usb.js'
import { assignDevice } from '../src/registry/assign.js'
import { type RegistryCtx, saveOfficerEntry } from '../src/registry/manage.js'
import { importRoster } from '../src/registry/roster.js'
import { retentionPolicy } from '../src/retention/config.js'
import { daemonConfig, type InProcess, inProcessDaemon, placeFolder, renameDevice, waitFor } from './daemon-support.js'
import { makeCamera, personToken, ROOT, tempDir } from './helpers.js'

const ZONE = 'Asia/Shanghai'
const UNITS = 'code,name,level,parent\nB1,市公安局,bureau,\nS1,城北派出所,station,B1\nT1,巡逻一队,team,S1\nT2,巡逻二队,team,S1\n'
const ctx = (db: Db): RegistryCtx => ({ db, actor: 'user:admin', via: 'test', zone: ZONE, now: new Date() })
const local = (s: string): string => new Date(`${s}+08:00`).toISOString()

// Both cameras are generated once, side by side (ffmpeg is the slow part).
const work = tempDir(t)
const [dcim, gat] = await Promise.all([
  makeCamera(join(work, 'dcim'), ['--layout', 'dcim', '--count', '6', '--start', '2026-11-20T08:00:00']),
  makeCamera(join(work, 'gat'), ['--count', '8', '--start', '2026-11-20T08:00:00']),
])

type Row = { id: number; officerId: string | null; source: string; unit: string | null; device: string | null; recordedAt: string; path: string }
function recordingsOf(db: Db, sessionId?: number): Row[] {
  return db
    .prepare(`SELECT r.id, r.officer_id AS officerId, a.officer_source AS source, a.unit_code AS unit, a.device_number AS device, r.recorded_at AS recordedAt,
      r.source_path AS path FROM recordings r JOIN recording_attribution a ON a.recording_id = r.id
      WHERE r.kind <> 'sidecar' ${sessionId === undefined ? '' : 'AND r.session_id = ?'} ORDER BY r.id`)
    .all(...(sessionId === undefined ? [] : [sessionId])) as Row[]
}

/** Docks a folder under the root (after the USB device, if any) and waits until it is safe to undock; returns its session. */
async function dock(d: InProcess, root: string, folder: string, name: string): Promise<number> {
  placeFolder(folder, join(root, name))
  const cam = await waitFor(
    () => d.daemon.status().cameras.find((c) => c.volume === join(root, name) && (c.state === 'safe-to-undock' || c.state === 'error')),
    name,
    120_000,
  )
  if (cam.state !== 'safe-to-undock') throw new Error(`${name}: ${cam.lastError}`)
  return d.db.prepare('SELECT max(id) FROM ingest_sessions').pluck().get() as number
}

async function undock(d: InProcess, root: string, name: string): Promise<void> {
  rmSync(join(root, name), { recursive: true, force: true })
  await waitFor(() => !d.daemon.status().cameras.some((c) => c.volume === join(root, name)), `${name} to undock`)
}

/** The API over the daemon's catalog: a call as a role. */
async function api(t: { teardown: (fn: () => unknown) => void }, db: Db) {
  const app = await buildApi({
    db,
    vault: undefined as never, // the routes used here read only the catalog
    logger: silentLogger(),
    station: { id: 'test-station', name: 'Test station', timezone: ZONE },
    policy: retentionPolicy(loadConfig({ env: { BODYVAULT_SYSTEM_CONFIG: 'none' } })),
    openChecked: async () => {
      throw new Error('the registry tests serve no footage')
    },
    rateLimitPerMinute: 100_000,
  })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const tokens = new Map<string, string>()
  for (const role of ['clerk', 'auditor', 'admin', 'officer', 'kiosk'] as const)
    tokens.set(role, createToken(db, { name: role, role, actor: 'test', ...(role === 'officer' ? { officerId: '000222' } : {}) }).secret)
  tokens.set('supervisor', await personToken(db, 'wang.sup', 'supervisor', '020002')) // no service account holds a supervisor's role
  // biome-ignore lint/suspicious/noExplicitAny: test responses are arbitrary JSON, read field by field
  return async (role: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> => {
    const res = await fetch(base + path, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${tokens.get(role)}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    })
    return { status: res.status, json: await res.json() }
  }
}

t.test('generic camera: the assignment, then a pool checkout, decide the officer; units as they were at the recorded time', async (t) => {
  const dir = tempDir(t)
  const root = join(dir, 'root')
  mkdirSync(root)
  const usb = new FakeUsbBackend()
  const profiles = loadProfiles(join(ROOT, 'docking'))
  profiles.set('generic-dcim', { ...profiles.get('generic-dcim')!, usb: [{ vendorId: 'abcd', productId: '0001' }] })
  const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb, profiles })
  const c = ctx(d.db)
  await importRoster(c, 'units', Buffer.from(UNITS), 'csv')
  await importRoster(c, 'officers', Buffer.from('police_number,name,unit,active_from\n000111,张三,T1,2026-01-01\n000222,李四,T2,2026-01-01\n'), 'csv')
  await importRoster(c, 'devices', Buffer.from('device_number,serial,usb_id,profile,unit\nCAM-01,SN-CAM-01,abcd:0001,generic-dcim,T1\n'), 'csv')
  assignDevice(c, { deviceNumber: 'CAM-01', policeNumber: '000111', kind: 'assignment', from: local('2026-11-19T00:00'), to: local('2026-11-21T00:00') })
  assignDevice(c, { deviceNumber: 'CAM-01', policeNumber: '000222', kind: 'checkout', from: local('2026-11-21T07:00'), to: local('2026-11-21T12:00') })
  assignDevice(c, { deviceNumber: 'CAM-01', policeNumber: '000111', kind: 'assignment', from: local('2026-11-22T00:00') })

  // Docking 1: footage of 20 November, while the camera was assigned to 000111 (in T1).
  const port = usb.attach({ vendorId: 'abcd', productId: '0001', serial: 'SN-CAM-01' }).port
  const s1 = await dock(d, root, dcim, 'CAM1')
  const first = recordingsOf(d.db, s1)
  t.ok(first.length >= 5, `${first.length} recordings`)
  t.same(
    [...new Set(first.map((r) => `${r.officerId} ${r.source} ${r.unit} ${r.device}`))],
    ['000111 assignment T1 CAM-01'],
    'no name gives an officer: the assignment at the recorded time does, with its unit, through the USB serial',
  )
  await undock(d, root, 'CAM1')
  usb.detach(port)

  // 000111 moves to T2 from 21 November: footage already recorded stays T1.
  saveOfficerEntry(c, { police_number: '000111', unit: 'T2', unit_from: '2026-11-21' }, 'update')

  // Docking 2: footage of 21 November (08:00, checked out to 000222) and 22 November (assigned to 000111 again).
  const second = join(dir, 'second')
  renameDevice(dcim, second, '20261120', '20261121')
  const day22 = renameDevice(dcim, join(dir, 'day22'), '20261120', '20261122')
  renameSync(join(day22, 'DCIM', '100MEDIA'), join(second, 'DCIM', '102MEDIA'))
  usb.attach({ vendorId: 'abcd', productId: '0001', serial: 'SN-CAM-01' })
  const s2 = await dock(d, root, second, 'CAM2')
  const rows = recordingsOf(d.db, s2)
  const by = (day: string) => [...new Set(rows.filter((r) => r.path.includes(`_${day}_`)).map((r) => `${r.officerId} ${r.source} ${r.unit}`))]
  t.same(by('20261121'), ['000222 checkout T2'], 'the pool checkout decides the shift it covers')
  t.same(by('20261122'), ['000111 assignment T2'], 'after the move, 000111 counts to T2')
  // Every recording of the docking is one of the two days (the 22nd's folder has no .thumbnails copy).
  t.equal(rows.filter((r) => /_2026112[12]_/.test(r.path)).length, rows.length)

  const call = await api(t, d.db)
  const stats = await call('supervisor', '/v1/stats')
  t.equal(stats.status, 200)
  t.same(
    stats.json.byUnit.map((u: { unitCode: string; recordings: number }) => [u.unitCode, u.recordings]),
    [
      ['T1', first.length],
      ['T2', rows.length],
    ],
    "per unit: 20 November stays with 000111's old unit",
  )
  const view = await call('clerk', `/v1/recordings/${rows.find((r) => r.path.includes('_20261121_'))!.id}`)
  t.match(view.json.attribution, { officerSource: 'checkout', deviceNumber: 'CAM-01', unitCode: 'T2' }, 'the recording view shows where its officer came from')
  t.match(view.json.recording, { officerId: '000222' })
  const ingested = d.db
    .prepare("SELECT payload FROM events WHERE type = 'ingested' AND subject = ?")
    .pluck()
    .get(`recording:${view.json.recording.id}`) as string
  t.match(JSON.parse(ingested), { officerId: '000222', officerSource: 'checkout', unitCode: 'T2', deviceNumber: 'CAM-01' }, 'and the ledger says it too')
  t.equal((await call('auditor', '/v1/officers')).json.items.length, 2, 'auditors read the roster')
  t.equal((await call('clerk', '/v1/devices', { method: 'POST', body: { deviceNumber: 'CAM-09' } })).status, 403, 'clerks do not change it')
  const added = await call('admin', '/v1/devices', { method: 'POST', body: { deviceNumber: 'CAM-09', unit: 'T1' } })
  t.equal(added.status, 201, JSON.stringify(added.json))
  t.match(added.json, { result: 'added', device: { deviceNumber: 'CAM-09', status: 'in-service' } })
  const badOfficer = await call('admin', '/v1/officers', { method: 'POST', body: { policeNumber: '12345', name: 'x', unit: 'T1' } })
  t.match(badOfficer, { status: 400, json: { error: { code: 'REGISTRY_INVALID' } } })
})

t.test('GA/T 947 camera: file names against the assignment are flagged, never resolved; a counter gap across two dockings is found', async (t) => {
  const dir = tempDir(t)
  const root = join(dir, 'root')
  mkdirSync(root)
  const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb: new FakeUsbBackend() })
  const c = ctx(d.db)
  await importRoster(c, 'units', Buffer.from(UNITS), 'csv')
  await importRoster(c, 'officers', Buffer.from('police_number,name,unit,active_from\n000222,李四,T1,2026-01-01\n'), 'csv')
  await importRoster(c, 'devices', Buffer.from('device_number,profile\nA1B2C3D,gat947\n'), 'csv')
  assignDevice(c, { deviceNumber: 'A1B2C3D', policeNumber: '000222', kind: 'assignment', from: local('2026-11-01T00:00') })
  const media = (folder: string) => readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((n) => /_\d{4}(_IMP)?\.\w+$/.test(n))
  const seqOf = (n: string) => Number(/_(\d{4})(?:_IMP)?\.\w+$/.exec(n)![1])

  // Docking 1: the camera held recordings 1-3.
  const a = join(dir, 'a')
  cpSync(gat, a, { recursive: true, preserveTimestamps: true })
  for (const n of media(a)) if (seqOf(n) > 3) rmSync(join(a, n))
  const s1 = await dock(d, root, a, 'CAM1')
  const first = recordingsOf(d.db, s1)
  t.same([...new Set(first.map((r) => `${r.officerId} ${r.source}`))], ['012345 file-name'], "the file names' officer stands (the camera's own word)")
  const conflicts = d.db.prepare("SELECT recording_id AS id, message FROM findings WHERE code = 'officer-mismatch' ORDER BY id").all() as {
    id: number
    message: string
  }[]
  t.same(
    conflicts.map((f) => f.id),
    first.map((r) => r.id),
    'and each recording is flagged for a clerk',
  )
  t.match(conflicts[0]!.message, /names officer 012345, but device A1B2C3D was assigned to officer 000222/)
  t.equal(d.db.prepare("SELECT count(*) FROM findings WHERE kind = 'reconciliation'").pluck().get(), 0, 'no gap in 1-3')
  await undock(d, root, 'CAM1')

  // Between dockings the camera recorded 4-8, and recording 5 was deleted on it.
  const b = join(dir, 'b')
  cpSync(gat, b, { recursive: true, preserveTimestamps: true })
  const deleted = media(b).filter((n) => seqOf(n) === 5)
  t.ok(deleted.length >= 1, `deleted on the camera: ${deleted.join(', ')}`)
  for (const n of deleted) rmSync(join(b, n))
  const s2 = await dock(d, root, b, 'CAM2')
  t.same(
    recordingsOf(d.db, s2)
      .map((r) => seqOf(r.path))
      .sort(),
    [4, 6, 7, 8],
    'the second docking brought 4, 6, 7, 8 (1-3 were there already)',
  )
  const recon = d.db.prepare("SELECT code, device_number AS device, detail FROM findings WHERE kind = 'reconciliation' ORDER BY id").all() as {
    code: string
    device: string
    detail: string
  }[]
  const gap = recon.find((f) => f.code === 'counter-gap')
  t.ok(gap, `findings: ${recon.map((f) => f.code).join(', ')}`)
  t.match(JSON.parse(gap!.detail), { missing: [5], previousMax: 3, sessionMax: 8 })
  t.equal(gap!.device, 'A1B2C3D')
  t.ok(
    recon.some((f) => f.code === 'dated-before-last-docking'),
    'footage of 20 November docked after a docking on a later day is listed too',
  )
  t.notOk(
    recon.some((f) => f.code === 'counter-repeat' || f.code === 'clock-ahead'),
    'no repeat, no clock ahead',
  )
  t.equal(
    d.db.prepare("SELECT count(*) FROM events WHERE type = 'finding-raised'").pluck().get(),
    conflicts.length + 4 + recon.length,
    'each finding is a ledger event',
  )

  const call = await api(t, d.db)
  const list = await call('supervisor', '/v1/findings?kind=reconciliation')
  t.equal(list.status, 200)
  t.same(
    list.json.items.map((f: { code: string }) => f.code),
    recon.map((f) => f.code),
  )
  t.equal((await call('officer', '/v1/findings')).status, 403, 'officers do not read findings')
  const counts = await call('kiosk', '/v1/station/findings')
  t.match(counts.json.items, [{ kind: 'officer-conflict', code: 'officer-mismatch', open: conflicts.length + 4 }], 'the station screen sees counts only')
  const view = await call('clerk', `/v1/recordings/${conflicts[0]!.id}`)
  t.match(view.json.findings, [{ code: 'officer-mismatch', resolvedAt: null }])
  const resolved = await call('clerk', `/v1/findings/${view.json.findings[0].id}/resolve`, {
    method: 'POST',
    body: { resolution: '000222 lent the camera to 012345 for the shift' },
  })
  t.match(resolved, { status: 200, json: { resolvedBy: /^token:/, resolution: /lent the camera/ } })
  t.equal((await call('clerk', `/v1/findings/${view.json.findings[0].id}/resolve`, { method: 'POST', body: { resolution: 'again' } })).status, 409)
  t.equal(d.db.prepare("SELECT count(*) FROM events WHERE type = 'finding-resolved'").pluck().get(), 1)
})
