import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { schemaVersion } from '../../catalog/db.js'
import { liveTokensOf } from '../../catalog/tokens.js'
import { userByName } from '../../catalog/users.js'
import { errorMessage } from '../../common/errors.js'
import { ledgerHead } from '../../ledger/ledger.js'
import { ffmpegInfo } from '../../media/ffmpeg.js'
import { bytes, table } from '../format.js'
import { EXIT, io, parse, station, type Command, showUsage } from '../common.js'

const usage = 'doctor [--json]'

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const checks: { check: string; ok: boolean; detail: string }[] = []
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
    // Tokens made before named accounts belong to nobody in particular: listed here until revoked.
    const legacy = userByName(st.db, 'legacy')
    const old = legacy ? liveTokensOf(st.db, legacy.id) : []
    checks.push({
      check: 'legacy tokens',
      ok: old.length === 0,
      detail: old.length
        ? `${old.map((t) => `${t.id} (${t.role}, ${t.name})`).join(', ')} predate named accounts: give their users accounts, then bodyvault token revoke ID`
        : 'none',
    })
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
  else io.stdout(table(checks.map((c) => [c.ok ? 'ok ' : 'FAIL', c.check, c.detail])) + '\n')
  return ok ? EXIT.ok : EXIT.problems
}

export const doctorCommand: Command = { name: 'doctor', usage, run: cmdDoctor }
