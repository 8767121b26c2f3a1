import t from 'tap'
import { kindOf, recordingFacts, systemEntry } from '../src/camera/names.js'
import { displayName, displayPath, pathTrick } from '../src/camera/rawname.js'
import { sniffKind } from '../src/camera/sniff.js'
import { idsFromNames, volumeKeys } from '../src/camera/volume-id.js'
import { GAT947, PROFILES } from './helpers.js'

t.test('GA/T 947 names give device, officer, local time in the camera zone, important mark', async (t) => {
  const f = recordingFacts('A1B2C3D_012345_20261120083015_0007_IMP.MP4', 0, GAT947)
  t.same(f, {
    deviceId: 'A1B2C3D',
    officerId: '012345',
    recordedAt: '2026-11-20T00:30:15.000Z',
    recordedOffset: '+08:00',
    recordedSource: 'filename',
    important: true,
  })
  const g = recordingFacts('A1B2C3D_012345_20260101000000_0001.MP4', 0, GAT947)
  t.equal(g.recordedAt, '2025-12-31T16:00:00.000Z', 'midnight local is the previous day in UTC')
  t.equal(g.important, false)
})

t.test('an impossible date in the name falls back to the file time, and says so', async (t) => {
  const mtime = Date.UTC(2026, 10, 20, 1, 2, 3)
  const f = recordingFacts('A1B2C3D_012345_20261340250000_0001.MP4', mtime, GAT947)
  t.equal(f.recordedSource, 'file-mtime')
  t.equal(f.recordedAt, '2026-11-20T01:02:03.000Z')
  t.equal(f.recordedOffset, '+08:00')
  t.equal(f.deviceId, 'A1B2C3D', 'the rest of the name still counts')
})

t.test('names that do not match use the docking identity and the file time', async (t) => {
  const f = recordingFacts('clip.mp4', Date.UTC(2026, 0, 1), GAT947, { deviceId: 'DEV0001', officerId: '999999' })
  t.same([f.deviceId, f.officerId, f.recordedSource, f.important], ['DEV0001', '999999', 'file-mtime', false])
  const d = recordingFacts('VID_20260701_120000.mp4', 0, PROFILES.get('generic-dcim')!, {})
  t.same([d.deviceId, d.recordedAt, d.recordedSource], [null, '2026-07-01T04:00:00.000Z', 'filename'])
})

t.test('a zone with daylight saving uses the offset of that instant', async (t) => {
  const p = { ...GAT947, timezone: 'Europe/Berlin' }
  t.equal(recordingFacts('A1B2C3D_012345_20260701120000_0001.MP4', 0, p).recordedOffset, '+02:00')
  t.equal(recordingFacts('A1B2C3D_012345_20260101120000_0001.MP4', 0, p).recordedOffset, '+01:00')
})

t.test('kinds by extension; system entries of a removable volume', async (t) => {
  t.equal(kindOf('a.MP4', GAT947), 'video')
  t.equal(kindOf('a.wav', GAT947), 'audio')
  t.equal(kindOf('a.JPG', GAT947), 'photo')
  t.equal(kindOf('a.SRT', GAT947), 'sidecar')
  t.equal(kindOf('a.json', PROFILES.get('generic-dcim')!), 'sidecar', 'the usual sidecars whatever the profile lists')
  t.equal(kindOf('a.txt', GAT947), undefined)
  for (const n of [
    'System Volume Information',
    '$RECYCLE.BIN',
    '.Trashes',
    '.Trash-1000',
    'LOST.DIR',
    'lost+found',
    'FOUND.000',
    '.Spotlight-V100',
    'Thumbs.db',
  ])
    t.match(systemEntry(n), /system/, n)
  for (const n of ['.hidden', 'DCIM', '录像', '.A1B2C3D_012345_20261120080000_0005.MP4']) t.equal(systemEntry(n), undefined, `${n} is not a system entry`)
})

t.test('display form of raw names: UTF-8, else GB18030, else escaped bytes; controls and bidi escaped', async (t) => {
  const cases: [string, Buffer, string][] = [
    ['UTF-8 Chinese', Buffer.from('执法 记录 0002.mp4'), '执法 记录 0002.mp4'],
    ['GBK bytes of 重要', Buffer.from([0xd6, 0xd8, 0xd2, 0xaa, 0x2e, 0x6d, 0x70, 0x34]), '重要.mp4'],
    ['invalid UTF-8, not GB18030 either', Buffer.from([0x61, 0xff, 0x2e, 0x6d, 0x70, 0x34]), 'a\\xff.mp4'],
    ['Latin-1 é followed by a dot', Buffer.from([0x65, 0xe9, 0x2e, 0x6d, 0x70, 0x34]), 'e\\xe9.mp4'],
    ['newline', Buffer.from('a\nb.mp4'), 'a\\x0ab.mp4'],
    ['bidi override', Buffer.from('evil\u202ekcod.mp4'), 'evil\\u202ekcod.mp4'],
    ['back-slash', Buffer.from('a\\b.mp4'), 'a\\\\b.mp4'],
  ]
  for (const [what, raw, want] of cases) t.equal(displayName(raw), want, what)
  t.equal(displayPath(Buffer.concat([Buffer.from('录像/'), Buffer.from([0xd6, 0xd8, 0xd2, 0xaa]), Buffer.from('/x.mp4')])), '录像/重要/x.mp4')
  t.equal(pathTrick(Buffer.from('..')), 'path trick: ".."')
  t.equal(pathTrick(Buffer.from('.')), 'path trick: "."')
  t.equal(pathTrick(Buffer.from('a/b')), 'path trick: "/" inside a name')
  t.equal(pathTrick(Buffer.from('...')), undefined, 'three dots is a name')
})

t.test('kinds by leading bytes', async (t) => {
  const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))))
  const ts = Buffer.alloc(400)
  ts[0] = 0x47
  ts[188] = 0x47
  const cases: [string, Buffer, string | undefined][] = [
    ['MP4', b([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0]), 'video'],
    ['QuickTime', b([0, 0, 0, 0x14], 'ftypqt  '), 'video'],
    ['HEIC', b([0, 0, 0, 0x18], 'ftypheic'), 'photo'],
    ['M4A', b([0, 0, 0, 0x18], 'ftypM4A '), 'audio'],
    ['AVI', b('RIFF', [1, 2, 3, 4], 'AVI LIST'), 'video'],
    ['WAV', b('RIFF', [1, 2, 3, 4], 'WAVEfmt '), 'audio'],
    ['Matroska', b([0x1a, 0x45, 0xdf, 0xa3, 0, 0]), 'video'],
    ['MPEG-TS', ts, 'video'],
    ['H.264 Annex B', b([0, 0, 0, 1, 0x67, 0x42]), 'video'],
    ['JPEG', b([0xff, 0xd8, 0xff, 0xe1]), 'photo'],
    ['PNG', b([0x89], 'PNG\r\n', [0x1a, 0x0a]), 'photo'],
    ['MP3 ID3', b('ID3', [4, 0, 0]), 'audio'],
    ['MP3 frame', b([0xff, 0xfb, 0x90, 0x64]), 'audio'],
    ['AMR', b('#!AMR\n'), 'audio'],
    ['SRT', b('1\r\n00:00:00,000 --> 00:00:01,000\r\n'), 'sidecar'],
    ['NMEA', b('$GPRMC,080000.00,A,'), 'sidecar'],
    ['AppleDouble', b([0, 5, 0x16, 7, 0, 2]), 'appledouble'],
    ['text', b('hello world, just a note'), undefined],
    ['zeros', Buffer.alloc(64), undefined],
  ]
  for (const [what, head, want] of cases) t.equal(sniffKind(head), want, what)
})

t.test('volume identity: USB serial, file-system UUID, device id, else the folder', async (t) => {
  t.same(
    volumeKeys({
      usb: { vendorId: '1209', productId: '0001', serial: 'SN1' },
      fs: { type: 'vfat', uuid: 'ABCD-1234' },
      deviceId: 'A1B2C3D',
      folder: '/media/CAM1',
    }),
    ['usb:1209:0001:SN1', 'fs:vfat:abcd-1234', 'device:A1B2C3D'],
  )
  t.same(volumeKeys({ usb: { vendorId: '1209', productId: '0001', serial: null }, namedDevice: 'A1B2C3D', folder: '/tmp/cam' }), ['device:A1B2C3D'])
  t.same(volumeKeys({ folder: '/tmp/cam' }), ['folder:/tmp/cam'])
  const names = ['A1B2C3D_012345_20261120080000_0001.MP4', 'A1B2C3D_012345_20261120080500_0002.MP4', 'VID_20261120_080000.mp4']
  t.same(idsFromNames(names, PROFILES.values()), { deviceId: 'A1B2C3D', officerId: '012345' }, 'read with every profile')
  t.same(idsFromNames(['VID_20261120_080000.mp4'], PROFILES.values()), { deviceId: null, officerId: null })
})
