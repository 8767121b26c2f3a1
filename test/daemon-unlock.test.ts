// The unlock-hook profile end to end: a camera is plugged in (USB attach
// through the seam: no USB bus here), the daemon runs the profile's unlock
// command (the real scripts/fake-vendor-unlock process), the volume appears
// under the mount root, its identity record is mapped into deviceId /
// officerId / officer name and unit, and the camera is ingested.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadProfiles } from '../src/camera/profile.js'
import { FakeUsbBackend } from '../src/dock/usb.js'
import { verifyVault } from '../src/verify/vault.js'
import { cannotMount, daemonConfig, inProcessDaemon, waitFor } from './daemon-support.js'
import { makeCamera, ROOT, tempDir } from './helpers.js'

const IDENTITY = { cSerial: 'U1N2L3K', userNo: '054321', userName: '李四', unitNo: '110105000000', unitName: '北京市公安局朝阳分局' }

async function prepareStore(dir: string): Promise<string> {
  const store = join(dir, 'store')
  // Port 1-3: a GA/T 947 tree whose names carry the same device and officer; port 1-4: a DCIM tree whose names carry neither.
  await makeCamera(join(store, '1-3', 'volume'), ['--device', 'U1N2L3K', '--officer', '054321'])
  writeFileSync(join(store, '1-3', 'identity.json'), JSON.stringify(IDENTITY))
  await makeCamera(join(store, '1-4', 'volume'), ['--layout', 'dcim'])
  writeFileSync(join(store, '1-4', 'volume', 'DEVICE.TXT'), 'MODEL=FAKE\n')
  writeFileSync(
    join(store, '1-4', 'identity.json'),
    JSON.stringify({ cSerial: 'D4C1M00', userNo: '000777', userName: '王五', unitNo: '110108000000', unitName: '海淀分局' }),
  )
  return store
}

t.test('plug in -> unlock -> volume -> identity mapped -> ingested -> unplug', async (t) => {
  const dir = tempDir(t)
  const store = await prepareStore(dir)
  const root = join(dir, 'media')
  mkdirSync(root)
  const fake = new FakeUsbBackend()
  const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb: fake, env: { ...process.env, FAKE_VENDOR_STORE: store } })

  fake.attach({ vendorId: '1209', productId: '0001', port: '1-3' })
  t.equal(d.daemon.status().cameras[0]?.state, 'unlocking', 'the unlock command runs')
  const cam = await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'safe-to-undock' || c.state === 'error'), 'the camera to finish', 120_000)
  t.match(cam, {
    state: 'safe-to-undock',
    profileId: 'vendor-unlock',
    profileBy: 'usb',
    volume: join(root, 'U1N2L3K'),
    volumeKind: 'folder',
    usb: { vendorId: '1209', productId: '0001', port: '1-3' },
    deviceId: 'U1N2L3K',
    officerId: '054321',
    officerName: '李四',
    unitCode: '110105000000',
    unitName: '北京市公安局朝阳分局',
    lastError: null,
  })
  t.same(
    d.logs.filter((l) => l.event === 'camera.state' && l.camera === cam.id).map((l) => l.to),
    ['detected', 'unlocking', 'detected', 'queued', 'copying', 'verifying', 'safe-to-undock'],
  )
  const session = d.db.prepare('SELECT device_id AS deviceId, state, files_ingested AS n FROM ingest_sessions WHERE id = ?').get(cam.sessionId) as {
    deviceId: string
    state: string
    n: number
  }
  t.match(session, { deviceId: 'U1N2L3K', state: 'complete' })
  t.ok(session.n >= 8)
  t.same(
    d.db.prepare('SELECT id, name, unit_code AS unitCode, unit_name AS unitName FROM officers WHERE id = ?').get('054321'),
    { id: '054321', name: '李四', unitCode: '110105000000', unitName: '北京市公安局朝阳分局' },
    'officer name and unit in the officers table',
  )
  t.match(d.db.prepare('SELECT profile_id AS profileId, usb_id AS usbId FROM devices WHERE id = ?').get('U1N2L3K'), {
    profileId: 'vendor-unlock',
    usbId: '1209:0001',
  })
  const ev = d.db.prepare("SELECT subject, payload FROM events WHERE type = 'camera-identified'").all() as { subject: string; payload: string }[]
  t.equal(ev.length, 1)
  t.equal(ev[0]!.subject, 'device:U1N2L3K')
  t.match(JSON.parse(ev[0]!.payload), { deviceId: 'U1N2L3K', officerId: '054321', officerName: '李四', unitCode: '110105000000', usbId: '1209:0001' })

  // A camera whose file names say nothing: device and officer come from the unlock identity.
  fake.attach({ vendorId: '1209', productId: '0001', port: '1-4' })
  const cam2 = await waitFor(
    () => d.daemon.status().cameras.find((c) => c.usb?.port === '1-4' && (c.state === 'safe-to-undock' || c.state === 'error')),
    'the second camera',
    120_000,
  )
  t.match(cam2, { state: 'safe-to-undock', deviceId: 'D4C1M00', officerId: '000777', officerName: '王五', volume: join(root, 'D4C1M00') })
  const rows = d.db.prepare('SELECT DISTINCT device_id AS d, officer_id AS o, recorded_source AS s FROM recordings WHERE session_id = ?').all(cam2.sessionId)
  t.same(rows, [{ d: 'D4C1M00', o: '000777', s: 'file-mtime' }], 'recordings carry the identity the camera reported')

  const v = await verifyVault(d.db, d.vault)
  t.ok(v.ok, JSON.stringify(v.problems))
  fake.detach('1-3')
  fake.detach('1-4')
  t.same(d.daemon.status().cameras, [])
  t.same(
    d.daemon.status().recent.map((r) => r.outcome),
    ['complete', 'complete'],
  )
})

t.test('an unlock that fails or hangs is an error that says what to do', async (t) => {
  const dir = tempDir(t)
  const root = join(dir, 'media')
  mkdirSync(root)
  const profiles = loadProfiles(join(ROOT, 'docking'))
  const base = profiles.get('vendor-unlock')!
  profiles.set('unlock-fails', {
    ...base,
    id: 'unlock-fails',
    usb: [{ vendorId: '1209', productId: '0002' }],
    unlock: { command: [...base.unlock!.command, '--fail', 'camera PIN rejected'] },
  })
  profiles.set('unlock-hangs', {
    ...base,
    id: 'unlock-hangs',
    usb: [{ vendorId: '1209', productId: '0003' }],
    unlock: { command: [...base.unlock!.command, '--delay-ms', '10000'], timeoutMs: 300 },
  })
  profiles.set('unlock-missing', {
    ...base,
    id: 'unlock-missing',
    usb: [{ vendorId: '1209', productId: '0004' }],
    unlock: { command: ['scripts/no-such-vendor-tool'] },
  })
  profiles.set('unlock-no-volume', {
    ...base,
    id: 'unlock-no-volume',
    usb: [{ vendorId: '1209', productId: '0005' }],
    unlock: { command: ['sh', '-c', `echo '{"cSerial":"N0V0LUM"}'`], timeoutMs: 400 },
  })
  const fake = new FakeUsbBackend()
  const d = await inProcessDaemon(t, {
    cfg: daemonConfig(join(dir, 'data'), [root]),
    usb: fake,
    profiles,
    env: { ...process.env, FAKE_VENDOR_STORE: join(dir, 'store') },
  })
  fake.attach({ vendorId: '1209', productId: '0002', port: '2-1' })
  fake.attach({ vendorId: '1209', productId: '0003', port: '2-2' })
  fake.attach({ vendorId: '1209', productId: '0004', port: '2-3' })
  fake.attach({ vendorId: '1209', productId: '0005', port: '2-4' })
  const errs = await waitFor(
    () => {
      const c = d.daemon.status().cameras
      return c.length === 4 && c.every((x) => x.state === 'error') ? c : undefined
    },
    'four errors',
    30_000,
  )
  const by = (port: string): string => errs.find((c) => c.usb?.port === port)!.lastError ?? ''
  t.match(
    by('2-1'),
    /the unlock command .*fake-vendor-unlock failed \(exit 1\): fake-vendor-unlock: unlock failed: camera PIN rejected; check the vendor tool and the camera, then plug it in again/,
  )
  t.match(by('2-2'), /did not finish within 300 ms \(unlock.timeoutMs in profile unlock-hangs\)/)
  t.match(by('2-3'), /cannot run the unlock command .*no-such-vendor-tool .*ENOENT.*check unlock.command/)
  t.match(by('2-4'), /no volume appeared within 400 ms under .*media: check docking.mountRoots/)
  t.equal(errs.find((c) => c.usb?.port === '2-4')!.deviceId, 'N0V0LUM', 'the identity it did report is kept')
  fake.detach('2-1')
  t.equal(d.daemon.status().cameras.length, 3)
})

const noMount = cannotMount()
t.test(
  'bind-mount mode: the unlocked volume is a real (read-only bind) mount',
  { skip: noMount ? `needs mounts (bind mount as root): ${noMount}` : false },
  async (t) => {
    const dir = tempDir(t)
    const store = join(dir, 'store')
    await makeCamera(join(store, 'default', 'volume'), ['--device', 'B1N0M0T'])
    writeFileSync(join(store, 'default', 'identity.json'), JSON.stringify({ ...IDENTITY, cSerial: 'B1N0M0T' }))
    const root = join(dir, 'media')
    mkdirSync(root)
    const target = join(root, 'B1N0M0T')
    t.teardown(() => {
      if (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `)) spawnSync('umount', ['-l', target])
    })
    const profiles = loadProfiles(join(ROOT, 'docking'))
    const base = profiles.get('vendor-unlock')!
    profiles.set('vendor-unlock', { ...base, unlock: { command: [...base.unlock!.command, '--mode', 'bind'] } })
    const fake = new FakeUsbBackend()
    const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb: fake, profiles, env: { ...process.env, FAKE_VENDOR_STORE: store } })
    fake.attach({ vendorId: '1209', productId: '0001', port: '3-1' })
    const cam = await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'safe-to-undock' || c.state === 'error'), 'the camera', 120_000)
    t.match(cam, { state: 'safe-to-undock', volume: target, volumeKind: 'mount', deviceId: 'B1N0M0T', officerName: '李四' })
    spawnSync('umount', ['-l', target])
    await waitFor(() => d.daemon.status().cameras.length === 0, 'the unmount to undock it')
    t.match(d.daemon.status().recent[0], { outcome: 'complete' })
  },
)
