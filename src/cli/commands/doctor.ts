import { outboxCounts } from '../../catalog/notices.js'
import { execFileSync } from 'node:child_process'
import { constants as C, accessSync, existsSync, lstatSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describeAnchoring, gatherOutside } from '../../anchor/sources.js'
import { schemaVersion } from '../../catalog/db.js'
import { INFLOW_DAYS, inflowBytesSince } from '../../catalog/stats.js'
import { liveTokensOf } from '../../catalog/tokens.js'
import { userByName } from '../../catalog/users.js'
import { BodyvaultError, errnoCode, errorMessage } from '../../common/errors.js'
import { configFile, loadConfigWithSources } from '../../config/load.js'
import { parseListen } from '../../api/server.js'
import { fixityState } from '../../fixity/state.js'
import { stationSigners } from '../../ledger/checkpoint-check.js'
import { checkKeyFile, KEY_REMEDY, readKeyChain, type KeyChain } from '../../ledger/key-chain.js'
import { ledgerHead } from '../../ledger/ledger.js'
import { stationKeyPath } from '../../ledger/keys.js'
import type { Db } from '../../catalog/db.js'
import type { EventPayload } from '../../ledger/events.js'
import { storedEventsOfType } from '../../ledger/ledger.js'
import { ffmpegInfo } from '../../media/ffmpeg.js'
import { leanBuildState } from '../../media/ffmpeg-output.js'
import { userName } from '../../station/data-dir.js'
import { daemonRunning } from '../../station/lock.js'
import type { Station } from '../../station/station.js'
import { readMarker } from '../../vault/marker.js'
import { bytes, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'
import { daemonEndpoint, daemonGet, daemonUrl } from '../daemon.js'
import { testEncoders } from '../../media/encoder-check.js'
import type { ProxySettings } from '../../media/proxy-policy.js'

const usage = usageOf('doctor')

/** One line of the report; a note informs and never fails the doctor. */
interface Check {
  check: string
  ok: boolean
  detail: string
  note?: true
  /** Shown, not failed: a broken chain of keys stays on the record for ever, and doctor keeps saying so. */
  warn?: true
}

/** Days of inflow doctor looks back over, and how many days of room left it calls too few. */
const FEW_DAYS = 14

/** Every file and folder of the data dir belongs to its owner (a root-owned file makes the daemon fail at its next write). */
function ownership(dataDir: string): Check {
  const owner = statSync(dataDir).uid
  const strangers = new Map<number, string[]>()
  let n = 0
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      const s = lstatSync(p)
      n++
      if (s.uid !== owner) strangers.set(s.uid, [...(strangers.get(s.uid) ?? []), p.slice(dataDir.length + 1)])
      if (s.isDirectory()) walk(p)
    }
  }
  walk(dataDir)
  const who = userName(owner)
  if (strangers.size === 0) return { check: 'ownership', ok: true, detail: `all ${n} files and folders belong to ${who}, the data dir's owner` }
  const list = [...strangers].map(([uid, ps]) => `${ps.length} belong to ${userName(uid)} (e.g. ${ps.slice(0, 2).join(', ')})`).join('; ')
  return { check: 'ownership', ok: false, detail: `${list}: the daemon runs as ${who} and cannot write them: chown -R ${who}: ${dataDir}` }
}

/** The daemon's user can read the key file, mode 600, and it is the key the ledger's chain of keys (or the latest checkpoint) names. */
function keyCheck(st: Station, chain: KeyChain): Check {
  const path = stationKeyPath(st.cfg.dataDir)
  const me = userName(process.getuid?.() ?? -1)
  if (existsSync(path)) {
    const s = statSync(path)
    if ((s.mode & 0o077) !== 0) return { check: 'station key', ok: false, detail: `${path} has mode ${(s.mode & 0o777).toString(8)}: chmod 600 it` }
    try {
      accessSync(path, C.R_OK)
    } catch {
      return { check: 'station key', ok: false, detail: `${path} cannot be read by ${me}: chown ${userName(statSync(st.cfg.dataDir).uid)} it` }
    }
  }
  let k: ReturnType<typeof checkKeyFile>
  try {
    k = checkKeyFile(st.db, st.cfg.dataDir, st.cfg.station.id, { chain })
  } catch (err) {
    return { check: 'station key', ok: false, detail: errorMessage(err) }
  }
  if (k.problem) return { check: 'station key', ok: false, detail: `${k.problem}: ${k.remedy ?? KEY_REMEDY}` }
  if (!k.key) return { check: 'station key', ok: true, detail: `none yet: the daemon makes ${path} at its first start` }
  return { check: 'station key', ok: true, detail: `${path}, fingerprint ${k.key.fingerprint}, mode 600, readable by ${me}` }
}

/** The vault marker (data/vault.json) names this vault. */
function markerCheck(dataDir: string): Check {
  const marker = readMarker(dataDir)
  return {
    check: 'vault marker',
    ok: marker !== undefined,
    detail: marker
      ? `station ${marker.stationId}, made ${marker.createdAt}, genesis ${marker.genesisHash.slice(0, 16)}…`
      : 'missing: the vault is not marked yet (run any command once more)',
  }
}

/** The chain of station keys holds together; a key replaced without the old one is a WARN for ever after. */
function keyChainCheck(chain: KeyChain): Check {
  const broken = chain.breaks.map((b) => `event ${b.seq} (${b.at}, ${b.actor}: ${b.reason})`)
  return {
    check: 'key chain',
    ok: chain.problems.length === 0,
    ...(broken.length > 0 ? { warn: true as const } : {}),
    detail: chain.problems.length
      ? chain.problems.map((p) => `event ${p.seq}: ${p.detail}`).join('; ')
      : broken.length
        ? `BROKEN at ${broken.join('; ')}: a key was replaced without the old one; checkpoints before the break are not vouched for by today's key`
        : `${chain.keys.length} key(s), unbroken`,
  }
}

/** The daemon answers at listen, or the address is free for it. */
async function listenCheck(cfg: Station['cfg']): Promise<Check> {
  const { dataDir, listen } = cfg
  const holder = daemonRunning(dataDir)
  if (holder) {
    const url = daemonUrl(cfg)
    const ok = await (async () => (await daemonGet(daemonEndpoint(cfg), '/healthz', { timeoutMs: 3000 })).status === 200)().catch(() => false)
    const who = holder === 'unknown' ? 'a daemon' : `the daemon (pid ${holder.pid}, listen ${holder.listen})`
    return ok
      ? { check: 'listen', ok: true, detail: `${who} holds the data dir and answers at ${url}` }
      : { check: 'listen', ok: false, detail: `${who} holds the data dir but nothing answers at ${url}: is listen the same for the daemon and this command?` }
  }
  const { host, port } = parseListen(listen)
  const err = await new Promise<unknown>((done) => {
    const srv = createServer()
    srv.once('error', done)
    srv.listen({ host, port }, () => srv.close(() => done(null)))
  })
  if (!err) return { check: 'listen', ok: true, detail: `${listen} is free for the daemon (no daemon runs on this data dir)` }
  const code = errnoCode(err)
  return {
    check: 'listen',
    ok: false,
    detail: `${listen}: ${code === 'EADDRINUSE' ? 'in use by another program (not a daemon on this data dir)' : (code ?? errorMessage(err))}: set listen or BODYVAULT_LISTEN`,
  }
}

function mountRootsCheck(roots: string[]): Check {
  const state = roots.map((r) => {
    try {
      if (!statSync(r).isDirectory()) return `${r}: not a folder`
      accessSync(r, C.R_OK | C.X_OK)
      return null
    } catch (err) {
      return `${r}: ${errnoCode(err) ?? errorMessage(err)}`
    }
  })
  const bad = state.filter((x): x is string => x !== null)
  const good = roots.filter((_, i) => state[i] === null)
  if (good.length === 0) return { check: 'mount roots', ok: false, detail: `none usable (${bad.join('; ')}): cameras mounted there are never seen` }
  return { check: 'mount roots', ok: true, detail: `${good.join(', ')} readable${bad.length ? `; not there: ${bad.join('; ')}` : ''}` }
}

async function spaceChecks(st: Station): Promise<Check[]> {
  const free = await st.vault.freeBytes()
  const reserve = st.cfg.ingest.minFreeBytes
  const since = new Date(Date.now() - INFLOW_DAYS * 86_400_000).toISOString()
  const perDay = inflowBytesSince(st.db, since) / INFLOW_DAYS
  const room = Math.max(0, free - reserve)
  const days = perDay > 0 ? Math.floor(room / perDay) : null
  return [
    { check: 'free space', ok: free > reserve, detail: `${bytes(free)} free (ingest keeps ${bytes(reserve)} in reserve)` },
    {
      check: 'days left',
      ok: days === null || days >= FEW_DAYS,
      detail:
        days === null
          ? `nothing came in over the last ${INFLOW_DAYS} days`
          : `about ${days} days of footage left at the last ${INFLOW_DAYS} days' inflow (${bytes(perDay)} a day)${days < FEW_DAYS ? ': free space, add a disk, or offload to S3 with a cache limit' : ''}`,
    },
  ]
}

/** How far the latest checkpoint got outside the catalog (bucket, witnesses); the full comparison is verify's. */
async function anchoringCheck(st: Station): Promise<Check> {
  try {
    // How far the latest checkpoint got outside the catalog; the full comparison is verify's.
    const src = st.anchorSources()
    const g = await gatherOutside({ db: st.db, publicKey: stationSigners(st.db, st.cfg.dataDir), ...src })
    const askable = g.report.witnesses.filter((w) => w.url)
    const unreachable = [
      ...(g.report.bucket?.error ? [`bucket ${g.report.bucket.bucket}`] : []),
      ...askable.filter((w) => w.reachable === false).map((w) => w.name),
    ]
    return {
      check: 'anchoring',
      ok: g.problems.length === 0 && unreachable.length === 0,
      detail: [describeAnchoring(g.report), ...g.problems.map((p) => p.detail), ...(unreachable.length ? [`unreachable: ${unreachable.join(', ')}`] : [])].join(
        '; ',
      ),
    }
  } catch (err) {
    return { check: 'anchoring', ok: false, detail: errorMessage(err) }
  }
}

/** Tokens made before named accounts belong to nobody in particular: listed until revoked. */
/** The notice channels: configured, their secrets readable, nothing given up in the outbox. */
function noticesCheck(st: Station): Check {
  try {
    const n = st.notifier()
    if (!n) return { check: 'notices', ok: true, detail: 'no channel configured (notify.channels): no notice is sent' }
    n.close()
    const c = outboxCounts(st.db)
    const names = n.d.senders.map((s) => `${s.id} (${s.to})`).join(', ')
    return {
      check: 'notices',
      ok: c.givenUp === 0,
      detail: `${names}; ${c.pending} pending, last sent ${c.lastSentAt ?? 'never'}${c.givenUp ? `; ${c.givenUp} given up after every attempt: see bodyvault notify status and the log (notify.given_up)` : ''}`,
    }
  } catch (err) {
    return { check: 'notices', ok: false, detail: errorMessage(err) }
  }
}

function legacyTokensCheck(db: Db): Check {
  const legacy = userByName(db, 'legacy')
  const old = legacy ? liveTokensOf(db, legacy.id) : []
  return {
    check: 'legacy tokens',
    ok: old.length === 0,
    detail: old.length
      ? `${old.map((t) => `${t.id} (${t.role}, ${t.name})`).join(', ')} predate named accounts: give their users accounts, then bodyvault token revoke ID`
      : 'none',
  }
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const checks: Check[] = []
  // A bad configuration is reported like everywhere else: its key, exit 2; a missing, substituted or damaged catalog too (exit 3).
  const { config: cfg, sources } = loadConfigWithSources({ file: values.config })
  checks.push({
    check: 'config',
    ok: true,
    detail: `${configFile({ file: values.config }) ?? 'the defaults (no config file)'}: station ${cfg.station.id}, data dir ${cfg.dataDir} (${sources.dataDirFrom})`,
  })
  let st: Station | undefined
  try {
    st = station(values, { checkIntegrity: true })
  } catch (err) {
    if (!(err instanceof BodyvaultError) || !err.code.startsWith('DATA_DIR')) throw err
    checks.push({ check: 'vault', ok: false, detail: `${err.code}: ${err.message}` })
  }
  if (st) {
    try {
      checks.push({ check: 'profiles', ok: true, detail: [...st.profiles.keys()].join(', ') })
      const head = ledgerHead(st.db)
      checks.push({ check: 'catalog', ok: true, detail: `${st.vault.catalogPath}, schema ${schemaVersion(st.db)}, ledger head ${head.seq}` })
      checks.push(...rebuildNotes(st.db))
      checks.push(legacyTokensCheck(st.db))
      const fx = fixityState(st.db, st.cfg.fixity, new Date())
      checks.push({
        check: 'fixity',
        ok: fx.warning === null,
        detail:
          fx.warning ??
          `${fx.objects} object(s), ${fx.due} due; ${fx.lastFullCycle ? `every local object re-hashed since ${fx.lastFullCycle}` : `${fx.neverChecked} not re-hashed yet`}`,
      })
      checks.push(ownership(st.cfg.dataDir))
      const probe = join(st.vault.stagingDir, `.doctor-${process.pid}`)
      try {
        writeFileSync(probe, 'ok')
        rmSync(probe)
        checks.push({ check: 'data dir writable', ok: true, detail: `${st.vault.dataDir} by ${userName(process.getuid?.() ?? -1)}` })
      } catch (err) {
        checks.push({ check: 'data dir writable', ok: false, detail: `${errorMessage(err)}: see the ownership check` })
      }
      checks.push(markerCheck(st.cfg.dataDir))
      const chain = readKeyChain(st.db)
      checks.push(keyCheck(st, chain))
      checks.push(keyChainCheck(chain))
      checks.push(await listenCheck(st.cfg))
      checks.push(...(await spaceChecks(st)))
      checks.push(await anchoringCheck(st))
      checks.push(noticesCheck(st))
    } finally {
      st.close()
    }
  }
  checks.push(mountRootsCheck(cfg.docking.mountRoots))
  try {
    const info = await ffmpegInfo({
      ...(cfg.media.ffmpegPath ? { ffmpegPath: cfg.media.ffmpegPath } : {}),
      ...(cfg.media.ffprobePath ? { ffprobePath: cfg.media.ffprobePath } : {}),
    })
    checks.push({ check: 'ffmpeg', ok: true, detail: `${info.ffmpegPath} ${info.version ?? '(version unknown)'}` })
    const lean = info.version ? leanBuildState(info.version, debianFfmpegVersion) : null
    if (lean) checks.push({ check: 'ffmpeg build', ok: true, detail: lean.detail, ...(lean.current ? {} : { warn: true as const }) })
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
    checks.push(await encoderCheck(cfg.media.proxy, cfg.media.ffmpegPath))
  } catch (err) {
    checks.push({ check: 'ffmpeg', ok: false, detail: errorMessage(err) })
  }
  const ok = checks.every((c) => c.ok)
  if (values.json) io.stdout(JSON.stringify({ ok, checks }, null, 2) + '\n')
  else io.stdout(table(checks.map((c) => [c.note ? 'note' : c.ok ? (c.warn ? 'WARN' : 'ok ') : 'FAIL', c.check, c.detail])) + '\n')
  return ok ? EXIT.ok : EXIT.problems
}

/** The version of Debian's ffmpeg package installed here (`7:5.1.9-0+deb12u1`), or null: not installed, or no dpkg. */
function debianFfmpegVersion(): string | null {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax, not a template
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'ffmpeg'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null
  } catch {
    return null
  }
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

/**
 * The proxy encoder: a one-second test encode on each (software, VAAPI,
 * Quick Sync, NVENC). A configured hardware encoder that fails is a warning,
 * not a failure: every proxy then falls back to libx264 (slower, recorded
 * in its event).
 */
async function encoderCheck(proxy: ProxySettings, ffmpegPath: string | null): Promise<Check> {
  const tests = await testEncoders({ device: proxy.device, ...(ffmpegPath ? { ffmpegPath } : {}) })
  const mine = tests.find((x) => x.kind === proxy.encoder)!
  const all = tests.map((x) => `${x.name} ${x.ok ? 'works' : 'fails'}`).join(', ')
  if (mine.ok) return { check: 'proxy encoder', ok: true, detail: `${mine.name} (configured): ${mine.detail}; ${all}` }
  return {
    check: 'proxy encoder',
    ok: proxy.encoder !== 'software',
    warn: true,
    detail: `${mine.name} (configured) failed its test encode: ${mine.detail}; proxies ${proxy.encoder === 'software' ? 'cannot be transcoded' : 'fall back to libx264'}; ${all}`,
  }
}
