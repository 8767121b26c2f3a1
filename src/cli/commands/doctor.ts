import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { schemaVersion, type Db } from '../../catalog/db.js'
import { errorMessage } from '../../common/errors.js'
import type { EventPayload } from '../../ledger/events.js'
import { ledgerHead, storedEventsOfType } from '../../ledger/ledger.js'
import { ffmpegInfo } from '../../media/ffmpeg.js'
import { bytes, table } from '../format.js'
import { EXIT, io, parse, station, type Command, showUsage } from '../common.js'

const usage = 'doctor [--json]'

/** One line of the report; a note informs and never fails the doctor. */
interface Check {
  check: string
  ok: boolean
  detail: string
  note?: true
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const checks: Check[] = []
  // A bad configuration is reported like everywhere else: its key, exit 2.
  const st = station(values)
  checks.push({ check: 'config', ok: true, detail: `station ${st.cfg.station.id}, data dir ${st.cfg.dataDir}` })
  checks.push({ check: 'profiles', ok: true, detail: [...st.profiles.keys()].join(', ') })
  {
    const probe = join(st.vault.stagingDir, `.doctor-${process.pid}`)
    try {
      writeFileSync(probe, 'ok')
      rmSync(probe)
      checks.push({ check: 'data dir writable', ok: true, detail: st.vault.dataDir })
    } catch (err) {
      checks.push({ check: 'data dir writable', ok: false, detail: `${errorMessage(err)}: make ${st.vault.dataDir} writable or set dataDir` })
    }
    const free = await st.vault.freeBytes()
    checks.push({
      check: 'free space',
      ok: free > st.cfg.ingest.minFreeBytes,
      detail: `${bytes(free)} free (ingest keeps ${bytes(st.cfg.ingest.minFreeBytes)} in reserve)`,
    })
    const head = ledgerHead(st.db)
    checks.push({
      check: 'catalog',
      ok: true,
      detail: `${st.vault.catalogPath}, schema ${schemaVersion(st.db)}, ledger head ${head.seq}`,
    })
    checks.push(...rebuildNotes(st.db))
  }
  try {
    const info = await ffmpegInfo({
      ...(st.cfg.media.ffmpegPath ? { ffmpegPath: st.cfg.media.ffmpegPath } : {}),
      ...(st.cfg.media.ffprobePath ? { ffprobePath: st.cfg.media.ffprobePath } : {}),
    })
    checks.push({ check: 'ffmpeg', ok: true, detail: `${info.ffmpegPath} ${info.version ?? '(version unknown)'}` })
    checks.push({
      check: 'ffprobe',
      ok: info.ffprobePath !== null,
      detail: info.ffprobePath
        ? `${info.ffprobePath} ${info.ffprobeVersion ?? ''}`.trim()
        : 'not found: run scripts/ensure-system-deps or set media.ffprobePath',
    })
    const missing = Object.entries(info.encoders)
      .filter(([, has]) => !has)
      .map(([name]) => name)
    checks.push({
      check: 'encoders',
      ok: missing.length === 0,
      detail: missing.length ? `missing ${missing.join(', ')}: install Debian's ffmpeg (scripts/ensure-system-deps)` : Object.keys(info.encoders).join(', '),
    })
  } catch (err) {
    checks.push({ check: 'ffmpeg', ok: false, detail: errorMessage(err) })
  }
  st.close()
  const ok = checks.every((c) => c.ok)
  if (values.json) io.stdout(JSON.stringify({ ok, checks }, null, 2) + '\n')
  else io.stdout(table(checks.map((c) => [c.note ? 'note' : c.ok ? 'ok ' : 'FAIL', c.check, c.detail])) + '\n')
  return ok ? EXIT.ok : EXIT.problems
}

/**
 * A catalog rebuilt from the bucket: when, from where, and what the rebuild
 * did not restore (from its `catalog-rebuilt` event). Notes: they say what
 * happened and what to do, and never fail the doctor.
 */
function rebuildNotes(db: Db): Check[] {
  let last: { seq: number; at: string; payload: string } | undefined
  for (const ev of storedEventsOfType(db, ['catalog-rebuilt'])) last = ev
  if (!last) return []
  const p = JSON.parse(last.payload) as Partial<EventPayload<'catalog-rebuilt'>>
  const out: Check[] = [
    {
      check: 'rebuilt from S3',
      ok: true,
      note: true,
      detail: `at ${last.at} (event ${last.seq}) from s3://${p.bucket ?? '?'}/${p.prefix ?? ''}: ${p.recordings ?? '?'} recordings, ${p.events ?? '?'} events`,
    },
  ]
  for (const n of p.notRestored ?? []) out.push({ check: 'not restored', ok: true, note: true, detail: n })
  return out
}

export const doctorCommand: Command = { name: 'doctor', usage, run: cmdDoctor }
