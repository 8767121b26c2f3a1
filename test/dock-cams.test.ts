// What the dock remembers of a camera that left: a threat is that the last
// thing the daemon saw (an empty mount point after an unplug) erases who the
// camera belonged to, and the officer's line under 刚拔出的记录仪 says
// 设备编号未知 for footage still on the camera.
import t from 'tap'
import { learnNames, newCam, recentOf } from '../src/dock/cams.js'

t.test('a listing that names nobody keeps what earlier listings said', async (t) => {
  const cam = newCam('cam-1', Date.parse('2026-11-30T08:00:00Z'), {})
  const rounds: [string, { deviceId: string | null; officerId: string | null }, [string | null, string | null]][] = [
    ['first listing, named', { deviceId: 'B7C8D9E', officerId: '004321' }, ['B7C8D9E', '004321']],
    ['unplugged: the mount point is empty', { deviceId: null, officerId: null }, ['B7C8D9E', '004321']],
    ['only the officer named', { deviceId: null, officerId: '004321' }, ['B7C8D9E', '004321']],
    ['most files now name another device', { deviceId: 'A1B2C3D', officerId: '004321' }, ['A1B2C3D', '004321']],
  ]
  for (const [what, named, [device, officer]] of rounds) {
    learnNames(cam, named)
    t.comment(`${what}: device ${cam.namedDevice}, officer ${cam.namedOfficer}`)
    t.same([cam.namedDevice, cam.namedOfficer], [device, officer], what)
  }
})

t.test('an incomplete docking is remembered with who it was and how many files are saved, not only tried', async (t) => {
  const cam = newCam('cam-2', Date.parse('2026-11-30T08:00:00Z'), {})
  learnNames(cam, { deviceId: 'B7C8D9E', officerId: '004321' })
  learnNames(cam, { deviceId: null, officerId: null })
  cam.state = 'copying'
  // Nine files tried after the unplug (each failed but one), two saved before it.
  cam.progress = { filesDone: 9, filesTotal: 9, filesStored: 2, bytesDone: 40, bytesTotal: 400 }
  const r = recentOf(cam, Date.parse('2026-11-30T08:05:00Z'))
  t.match(r, { outcome: 'incomplete', deviceId: 'B7C8D9E', officerId: '004321', files: { done: 9, total: 9, stored: 2 } })
})
