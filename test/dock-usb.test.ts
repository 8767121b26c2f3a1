// USB hotplug: the injection seam (the one fake: no USB bus exists on the
// test hosts), the daemon's reaction to attach/detach, and the real `usb`
// adapter starting and stopping cleanly on this host.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { FakeUsbBackend, realUsbBackend, UsbWatcher, type UsbDeviceInfo } from '../src/dock/usb.js'
import { daemonConfig, inProcessDaemon, waitFor } from './daemon-support.js'
import { ROOT, tempDir } from './helpers.js'

function capture(): { logger: pino.Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = []
  return { logs, logger: pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) }) }
}

t.test('the seam: devices present at start, then attach and detach, reach the watcher', async (t) => {
  const fake = new FakeUsbBackend()
  const pre = fake.attach({ vendorId: '1209', productId: '0001', port: '1-1', serial: 'SN1' })
  const { logger, logs } = capture()
  const w = new UsbWatcher(fake, logger)
  const seen: string[] = []
  w.on('attach', (d: UsbDeviceInfo) => seen.push(`+${d.port}`))
  w.on('detach', (d: UsbDeviceInfo) => seen.push(`-${d.port}`))
  t.equal(await w.start(), true)
  t.ok(fake.started)
  t.same(seen, ['+1-1'], 'a device plugged in before the start is reported')
  fake.attach({ vendorId: '0bda', productId: '8153', port: '1-2' })
  fake.detach(pre.port)
  fake.detach('9-9')
  t.same(seen, ['+1-1', '+1-2', '-1-1'])
  t.same(
    logs.filter((l) => l.event === 'usb.attach' || l.event === 'usb.detach').map((l) => l.event),
    ['usb.attach', 'usb.detach'],
  )
  w.stop()
  t.notOk(fake.started, 'stop stops the backend')
  fake.attach({ vendorId: '1209', productId: '0001', port: '1-3' })
  t.same(seen.length, 3, 'nothing after stop')
})

t.test('a host without a USB bus logs it once and the watcher stays idle', async (t) => {
  const fake = new FakeUsbBackend('no USB bus on this host (/sys/bus/usb is missing)')
  const { logger, logs } = capture()
  const w = new UsbWatcher(fake, logger)
  t.equal(await w.start(), false)
  t.equal(await w.start(), false, 'a second start does not log again')
  t.notOk(fake.started)
  const warned = logs.filter((l) => l.event === 'usb.unavailable')
  t.equal(warned.length, 1)
  t.match(warned[0], { level: 40, reason: /no USB bus/, msg: /mount discovery alone/ })
  w.stop()
})

t.test('the daemon: a camera USB id is detected, anything else ignored, detach undocks it', async (t) => {
  const dir = tempDir(t)
  const fake = new FakeUsbBackend()
  // generic profile wired to a made-up USB id, through a profiles folder of its own
  const { loadProfiles } = await import('../src/camera/profile.js')
  const profiles = loadProfiles(join(ROOT, 'docking'))
  const gat = { ...profiles.get('gat947')!, usb: [{ vendorId: 'abcd', productId: '0947' }] }
  profiles.set('gat947', gat)
  const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [join(dir, 'root')]), usb: fake, profiles })
  fake.attach({ vendorId: '046d', productId: 'c52b', port: '1-4' })
  t.same(d.daemon.status().cameras, [], 'a keyboard is not a camera')
  t.ok(d.logs.some((l) => l.event === 'usb.not_a_camera'))
  fake.attach({ vendorId: 'ABCD', productId: '0947', port: '1-5', serial: 'CAM5' })
  const cams = d.daemon.status().cameras
  t.equal(cams.length, 1)
  t.match(cams[0], {
    state: 'detected',
    profileId: 'gat947',
    profileBy: 'usb',
    usb: { vendorId: 'abcd', productId: '0947', serial: 'CAM5', port: '1-5' },
    volume: null,
  })
  t.equal(d.daemon.status().usb.available, true)
  fake.detach('1-5')
  t.same(d.daemon.status().cameras, [])
  t.match(d.daemon.status().recent[0], { outcome: 'incomplete', lastState: 'detected' })
  t.ok(d.logs.some((l) => l.event === 'camera.undocked' && l.safe === false))
})

t.test('the real usb adapter (libusb) starts and stops cleanly on this host', async (t) => {
  const hasBus = existsSync('/sys/bus/usb')
  const { logger, logs } = capture()
  const w = new UsbWatcher(realUsbBackend(), logger)
  const started = await w.start()
  t.equal(started, hasBus, hasBus ? 'this host has a USB bus: hotplug is watched' : 'no USB bus here: the watcher says so and stays idle')
  if (!hasBus)
    t.match(
      logs.find((l) => l.event === 'usb.unavailable'),
      { reason: /no USB bus/ },
    )
  w.stop()

  // In a child process: subscribe to libusb hotplug for real (even without a bus), list, unsubscribe;
  // the process must then exit on its own (no thread or timer left behind).
  const script = `
    import { realUsbBackend } from ${JSON.stringify(join(ROOT, 'dist/src/dock/usb.js'))}
    const b = realUsbBackend()
    const why = await b.probe()
    await b.start({ attach() {}, detach() {} })
    const n = b.list().length
    await new Promise((r) => setTimeout(r, 300))
    b.stop()
    console.log(JSON.stringify({ why: why ?? null, devices: n }))
  `
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
  t.equal(r.status, 0, `the child exits 0 by itself (stderr: ${r.stderr.trim()})`)
  t.ok(Date.now() - t0 < 15_000, 'and promptly')
  const out = JSON.parse(r.stdout.trim()) as { why: string | null; devices: number }
  t.equal(out.why === null, hasBus)
  t.ok(out.devices >= 0)
})

t.test('the daemon starts with the real adapter on a host without USB and keeps docking by mounts', async (t) => {
  const dir = tempDir(t)
  const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [join(dir, 'root')]), usb: realUsbBackend() })
  const st = d.daemon.status()
  t.equal(st.usb.available, existsSync('/sys/bus/usb'))
  if (!st.usb.available) t.match(st.usb.reason, /no USB bus/)
  await waitFor(() => d.logs.some((l) => l.event === 'dock.start'), 'dock.start')
  t.equal(d.logs.filter((l) => l.event === 'usb.unavailable').length, existsSync('/sys/bus/usb') ? 0 : 1, 'logged once')
})
