// Docking domain logic: profile schema, profile matching, identity mapping,
// unlock output and argv, clock drift, rate/ETA, fair share of the disk.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DiskShare, nextWaiter } from '../src/dock/fairshare.js'
import { mapIdentity, parseUnlockOutput } from '../src/camera/identity.js'
import { looksLikeCamera, markerScore, pickProfile, profileForUsb } from '../src/camera/match.js'
import { checkProfile, isReadOnly, loadProfiles, wipesAfterIngest } from '../src/camera/profile.js'
import { clockDrift, etaSeconds, RateMeter } from '../src/dock/progress.js'
import { resolveCommand, unlockArgv, unlockVars } from '../src/dock/unlock.js'
import { ROOT, tempDir } from './helpers.js'

const shipped = loadProfiles(join(ROOT, 'docking'))
const gat947 = JSON.parse(readFileSync(join(ROOT, 'docking/gat947.json'), 'utf8')) as Record<string, unknown>

t.test('shipped profiles: generic DCIM, GA/T 947, vendor unlock; read-only and no wipe by default', async (t) => {
  t.same([...shipped.keys()].sort(), ['gat947', 'generic-dcim', 'vendor-unlock'])
  const u = shipped.get('vendor-unlock')!
  t.same(u.usb, [{ vendorId: '1209', productId: '0001' }])
  t.equal(u.unlock?.command[0], 'scripts/fake-vendor-unlock')
  t.same(u.identity, { deviceId: 'cSerial', officerId: 'userNo', officerName: 'userName', unitCode: 'unitNo', unitName: 'unitName', mountPoint: 'mountPoint' })
  for (const p of shipped.values()) {
    t.ok(isReadOnly(p), `${p.id} is read-only`)
    t.notOk(wipesAfterIngest(p), `${p.id} does not wipe`)
  }
  t.ok(isReadOnly({}), 'readOnly defaults to true')
  t.notOk(wipesAfterIngest({ wipeAfterIngest: true }), 'wipe needs readOnly: false')
  t.ok(wipesAfterIngest({ wipeAfterIngest: true, readOnly: false }))
})

t.test('profile schema: new keys are checked and errors name the key', async (t) => {
  const bad = (extra: Record<string, unknown>): string => {
    try {
      checkProfile({ ...gat947, ...extra }, 'x.json')
      return 'accepted'
    } catch (err) {
      return (err as Error).message
    }
  }
  t.match(bad({ usb: [{ vendorId: '12345', productId: '0001' }] }), /usb\.0\.vendorId: must match pattern/)
  t.match(bad({ usb: [{ vendorId: '1209' }] }), /usb\.0\.productId: is missing/)
  t.match(bad({ unlock: { command: [] } }), /unlock\.command: must NOT have fewer than 1 items/)
  t.match(bad({ unlock: { command: ['x'], shell: true } }), /unlock\.shell: is not a known profile key/)
  t.match(bad({ identity: { deviceId: 'a', colour: 'b' } }), /identity\.colour: is not a known profile key/)
  t.match(bad({ filename: { pattern: '^(?<device>\\w+)' } }), /unknown named group "device" \(allowed: deviceId, officerId, date, time, important, counter\)/)
  t.match(bad({ wipeAfterIngest: true }), /wipeAfterIngest needs readOnly: false/)
  t.equal(bad({ wipeAfterIngest: true, readOnly: false }), 'accepted')
  t.equal(
    bad({ usb: [{ vendorId: 'ABCD', productId: '00ff' }], unlock: { command: ['tool', '{port}'], timeoutMs: 5000 }, identity: { deviceId: 'info.serial' } }),
    'accepted',
  )

  const dir = tempDir(t)
  for (const id of ['one', 'two']) writeFileSync(join(dir, `${id}.json`), JSON.stringify({ ...gat947, id, usb: [{ vendorId: '1209', productId: 'BEEF' }] }))
  t.throws(() => loadProfiles(dir), /docking profiles "one" and "two" both claim USB id 1209:beef/)
})

t.test('profile matching: USB id, then markers (most markers, tie to the default), then the default', async (t) => {
  const gatRoot = ['AUDIO', 'DCIM', 'DEVICE.TXT']
  const dcimRoot = ['DCIM', 'MISC']
  t.same(pickProfile(shipped, { usb: { vendorId: '1209', productId: '0001' }, rootEntries: dcimRoot }, 'gat947'), {
    profile: shipped.get('vendor-unlock'),
    by: 'usb',
  })
  t.equal(profileForUsb(shipped.values(), { vendorId: '1209', productId: '1' })?.id, 'vendor-unlock', 'ids compare as hex numbers')
  t.same(
    pickProfile(shipped, { usb: { vendorId: 'dead', productId: 'beef' }, rootEntries: dcimRoot }, 'gat947').profile.id,
    'generic-dcim',
    'an unknown USB id falls back to markers',
  )
  t.same(
    pickProfile(shipped, { rootEntries: gatRoot }, 'gat947').profile.id,
    'gat947',
    'GA/T 947 tree: DEVICE.TXT and DCIM both match; the tie goes to the default',
  )
  t.same(pickProfile(shipped, { rootEntries: ['device.txt'] }, 'gat947').by, 'markers', 'markers are case-insensitive')
  t.same(pickProfile(shipped, { rootEntries: dcimRoot }, 'gat947'), { profile: shipped.get('generic-dcim'), by: 'markers' })
  t.same(pickProfile(shipped, { rootEntries: ['notes.txt'] }, 'gat947'), { profile: shipped.get('gat947'), by: 'default' })
  t.equal(markerScore({ volumeMarkers: ['A', 'B'] }, ['a']), 0, 'every marker must be present')
  t.equal(markerScore({ volumeMarkers: ['A', 'B'] }, ['a', 'b', 'c']), 2)
  t.ok(looksLikeCamera(shipped.values(), gatRoot))
  t.notOk(looksLikeCamera(shipped.values(), []), 'an empty folder (a mount point before its mount) is not a camera')
})

t.test('identity mapping: vendor record -> deviceId/officerId/name/unit, strictly', async (t) => {
  const mapping = shipped.get('vendor-unlock')!.identity
  const rec = {
    cSerial: 'A1B2C3D',
    userNo: '012345',
    userName: '张三',
    unitNo: '110105000000',
    unitName: '北京市公安局朝阳分局',
    mountPoint: '/media/A1B2C3D',
    extra: 1,
  }
  t.same(mapIdentity(rec, mapping), {
    deviceId: 'A1B2C3D',
    officerId: '012345',
    officerName: '张三',
    unitCode: '110105000000',
    unitName: '北京市公安局朝阳分局',
    mountPoint: '/media/A1B2C3D',
  })
  t.same(mapIdentity({ info: { sn: 'X1' } }, { deviceId: 'info.sn' }).deviceId, 'X1', 'dotted key paths')
  t.same(mapIdentity({ cSerial: '' }, mapping).deviceId, null, 'empty means unknown')
  t.throws(() => mapIdentity({ userNo: 12345 }, mapping), /"userNo" \(officerId\) must be a string, got 12345: numbers lose leading zeros/)
  t.throws(() => mapIdentity({ cSerial: '../etc' }, mapping), /ids must be 1-64 letters, digits/)
  t.throws(() => mapIdentity({ userName: 'a\u202eb' }, mapping), /control characters/)
  t.throws(() => mapIdentity({ mountPoint: 'relative/path' }, mapping), /must be an absolute path/)
  t.throws(() => mapIdentity([], mapping), /must be a JSON object/)

  t.same(parseUnlockOutput('{"a":1}\n'), { a: 1 })
  t.same(parseUnlockOutput('connecting...\n{"a":1}\nunlocked {"a":2}\n{"b":2}\nbye\n'), { b: 2 }, 'the last JSON line wins over chatter')
  t.throws(() => parseUnlockOutput('OK\n'), /printed no JSON object on stdout/)
})

t.test('unlock argv placeholders, environment values, command paths', async (t) => {
  const vars = unlockVars({ vendorId: '1209', productId: '0001', bus: 3, address: 7, port: '3-1.4', serial: null }, '/media', 'vendor-unlock')
  t.same(unlockArgv(['tool', '--port={port}', '{vendorId}:{productId}', '{serial}', '{nope}', '{mountRoot}/{profile}'], vars), [
    'tool',
    '--port=3-1.4',
    '1209:0001',
    '',
    '{nope}',
    '/media/vendor-unlock',
  ])
  t.equal(resolveCommand('scripts/fake-vendor-unlock'), join(ROOT, 'scripts/fake-vendor-unlock'), 'relative to the package')
  t.equal(resolveCommand('vendor-tool'), 'vendor-tool', 'a bare name is looked up on PATH')
  t.equal(resolveCommand('/opt/v/tool'), '/opt/v/tool')
})

t.test('clock drift: file times ahead of the station clock beyond the tolerance are flagged', async (t) => {
  const now = Date.parse('2026-11-23T12:00:00Z')
  t.same(clockDrift([], now, 300_000), { aheadSec: 0, flagged: false, newest: null })
  t.same(clockDrift([now - 3600_000, now - 60_000], now, 300_000), { aheadSec: 0, flagged: false, newest: '2026-11-23T11:59:00.000Z' })
  t.same(clockDrift([now + 120_000], now, 300_000), { aheadSec: 120, flagged: false, newest: '2026-11-23T12:02:00.000Z' }, 'within the tolerance')
  t.same(clockDrift([now - 1, now + 8 * 3600_000], now, 300_000).flagged, true, 'a camera 8 h ahead (UTC set as local time) is flagged')
})

t.test('rate over a sliding window and ETA', async (t) => {
  const m = new RateMeter(5000)
  t.equal(m.rate(), null)
  m.add(0, 0)
  m.add(50, 10)
  t.equal(m.rate(), null, 'needs 100 ms of samples')
  for (let s = 1; s <= 10; s++) m.add(s * 1000, s * 1_000_000)
  t.equal(m.rate(), 1_000_000, 'bytes per second over the window')
  m.add(11_000, 0)
  t.equal(m.rate(), null, 'bytes going down (a new session) start over')
  t.equal(etaSeconds(500, 1500, 100), 10)
  t.equal(etaSeconds(1500, 1500, null), 0)
  t.equal(etaSeconds(0, 1500, null), null)
  t.equal(etaSeconds(0, 1500, 0), null)
})

t.test('fair share: the least-served camera goes next; newcomers start level; abort frees the place', async (t) => {
  t.equal(
    nextWaiter(
      [
        { key: 'a', seq: 1 },
        { key: 'b', seq: 2 },
      ],
      new Map([
        ['a', 10],
        ['b', 5],
      ]),
    ),
    1,
  )
  t.equal(
    nextWaiter(
      [
        { key: 'a', seq: 3 },
        { key: 'b', seq: 2 },
      ],
      new Map([
        ['a', 5],
        ['b', 5],
      ]),
    ),
    1,
    'ties go to the earliest',
  )
  t.equal(nextWaiter([], new Map()), -1)

  // One stream, three cameras re-asking as soon as they release (as sessions do): "big" reads
  // 100-byte files, the others 10-byte files. Byte fairness keeps their totals within one large
  // file of each other; a plain round robin would give big ten times the bytes.
  const share = new DiskShare(1)
  let grants = 0
  const run = async (key: string, size: number): Promise<void> => {
    while (grants < 60) {
      const release = await share.gate(key)(size)
      grants++
      await new Promise((r) => setTimeout(r, 1))
      release()
    }
  }
  await Promise.all([run('big', 100), run('small1', 10), run('small2', 10)])
  const served = share.snapshot().servedBytes
  const totals = [served.big!, served.small1!, served.small2!]
  t.ok(Math.max(...totals) - Math.min(...totals) <= 110, `bytes served stay level: ${JSON.stringify(served)}`)
  t.ok(served.small1! >= 200, 'the small cameras are not starved')

  for (const k of ['big', 'small1', 'small2']) share.forget(k)
  const held = await share.acquire('a', 1000)
  t.same(share.snapshot().servedBytes, { a: 1000 })
  const b = share.acquire('b', 1)
  t.same(share.snapshot().servedBytes.b, 0, 'a newcomer starts level with the least-served camera present, counted before its current file')
  const ac = new AbortController()
  const c = share.acquire('c', 1, ac.signal)
  ac.abort(new Error('unplugged'))
  await t.rejects(c, /unplugged/, 'a waiter whose camera leaves is dropped with the reason')
  t.equal(share.snapshot().waiting, 1)
  held()
  held()
  const rb = await b
  t.equal(share.snapshot().active, 1, 'release is idempotent')
  rb()
  t.same([share.snapshot().active, share.snapshot().waiting], [0, 0])
  await t.rejects(share.acquire('d', 1, AbortSignal.abort(new Error('gone'))), /gone/)
  t.throws(() => new DiskShare(0), /positive integer/)
})

t.test('a profiles folder with an unlock profile loads from anywhere', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'p'))
  writeFileSync(join(dir, 'p', 'v.json'), readFileSync(join(ROOT, 'docking/vendor-unlock.json')))
  t.same([...loadProfiles(join(dir, 'p')).keys()], ['vendor-unlock'])
})
