import cliProgress from 'cli-progress'
import { resolve } from 'node:path'
import { backupVault, type BackupProgress } from '../../backup/backup.js'
import { restoreBackup, checkRestore } from '../../backup/restore.js'
import { UsageError } from '../../common/errors.js'
import { prepareDataDir } from '../../station/data-dir.js'
import { operatorActor } from '../identity.js'
import { bytes, duration } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const backupUsage = usageOf('backup')
const restoreUsage = usageOf('restore')

/** A progress bar on a terminal (stderr), by bytes; nothing otherwise. */
function progressBar(json: boolean): { update: (p: BackupProgress) => void; stop: () => void } | undefined {
  if (json || !process.stderr.isTTY) return undefined
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {percentage}% | {objects} objects | {done}/{total} | ETA {eta_formatted}', hideCursor: true, fps: 5, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  return {
    update: (p) => {
      const payload = { objects: `${p.objectsDone}/${p.objectsTotal}`, done: bytes(p.bytesDone), total: bytes(p.bytesTotal) }
      if (!started) {
        bar.start(Math.max(1, p.bytesTotal), p.bytesDone, payload)
        started = true
      } else bar.update(p.bytesDone, payload)
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

function rate(n: number, ms: number): string {
  return `${bytes(n / Math.max(0.001, ms / 1000))}/s`
}

async function cmdBackup(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, backupUsage)
  if (values.help) return showUsage(backupUsage)
  if (positionals.length !== 1)
    throw new UsageError(
      `backup takes one folder: where the backup goes (a new or empty one, or an earlier backup of this station)\n\nUsage: bodyvault ${backupUsage}`,
    )
  const st = station(values)
  const bar = progressBar(values.json)
  try {
    const r = await backupVault({
      db: st.db,
      dataDir: st.cfg.dataDir,
      target: resolve(positionals[0]!),
      stationId: st.cfg.station.id,
      actor: operatorActor(st, undefined),
      logger: st.logger,
      chunkBytes: st.cfg.ingest.chunkBytes,
      onProgress: bar?.update,
    })
    bar?.stop()
    if (values.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`)
    else {
      const o = r.objects
      io.stdout(
        `${r.full ? 'full' : 'incremental'} backup of the ledger through event ${r.ledgerHead} into ${r.target} in ${duration(r.durationMs)}: catalog ${bytes(r.catalogBytes)}, ${o.copied} object(s) copied (${bytes(o.bytesCopied)}, ${rate(o.bytesCopied, r.durationMs)}), ${o.present} already there, ${r.stateFiles.copied.length} state file(s) copied${o.gone ? `, ${o.gone} purged meanwhile` : ''}\n`,
      )
      for (const c of o.corrupt) io.stdout(`CORRUPT object ${c.sha256} hashes to ${c.actual}: not copied; run bodyvault verify\n`)
      io.stdout(`recorded as ledger event ${r.eventSeq}; check the copy with: BODYVAULT_DATA_DIR=${r.target} bodyvault verify\n`)
    }
    return r.objects.corrupt.length ? EXIT.problems : EXIT.ok
  } finally {
    bar?.stop()
    st.close()
  }
}

async function cmdRestore(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { to: { type: 'string' } }, restoreUsage)
  if (values.help) return showUsage(restoreUsage)
  if (positionals.length !== 1 || !values.to)
    throw new UsageError(`restore takes a backup folder and --to DIR, a new or empty folder\n\nUsage: bodyvault ${restoreUsage}`)
  const target = resolve(values.to)
  checkRestore(positionals[0]!, target)
  // As root, the restored files belong to the owner of the target (or of its folder: the service user's /var/lib/bodyvault).
  prepareDataDir(target, { create: true, switchUser: true, from: '--to' })
  const bar = progressBar(values.json)
  let r: Awaited<ReturnType<typeof restoreBackup>>
  try {
    r = await restoreBackup({ source: positionals[0]!, target, chunkBytes: 4 << 20, onProgress: bar?.update })
  } finally {
    bar?.stop()
  }
  // The restored ledger records the rollback at the daemon's first start (src/anchor/ restore check): only there
  // are the checkpoints it went back from at hand (the log, the bucket, the witnesses), and it signs the statement.
  if (values.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`)
  else {
    io.stdout(
      `restored ${r.backup ? `the backup of station ${r.backup.stationId} (ledger through event ${r.backup.ledgerHead}, made ${r.backup.completedAt})` : r.source} into ${r.target} in ${duration(r.durationMs)}: ${r.objects.copied} object(s) (${bytes(r.objects.bytes)}) hashed and copied, ${r.stateFiles.length} state file(s)\n`,
    )
    for (const c of r.objects.corrupt) io.stdout(`CORRUPT object ${c.sha256} in the backup hashes to ${c.actual}: left out\n`)
    io.stdout(`next: BODYVAULT_DATA_DIR=${r.target} bodyvault verify, then point dataDir at it and start the daemon\n`)
  }
  return r.objects.corrupt.length ? EXIT.problems : EXIT.ok
}

export const backupCommand: Command = { name: 'backup', usage: backupUsage, run: cmdBackup }
export const restoreCommand: Command = { name: 'restore', usage: restoreUsage, run: cmdRestore }
