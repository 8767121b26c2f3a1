import { createInterface } from 'node:readline/promises'
import { getAccount, personOf } from '../../api/accounts.js'
import { getRecording } from '../../catalog/recordings.js'
import { BodyvaultError, UsageError } from '../../common/errors.js'
import { remoteOnly, restoreObjects, restoreTargets } from '../../offload/restore.js'
import type { Station } from '../../station/station.js'
import { actors } from '../../ledger/events.js'
import { buildEvidencePackage } from '../../export/package.js'
import { writeCheckpoint } from '../../ledger/checkpoint.js'
import { bytes } from '../format.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('export-package')

/**
 * For a supervisor at the station: writes an evidence package and records
 * the export in the ledger. (The API gates the same builder behind an
 * approval step.)
 */
async function cmdExportPackage(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      recording: { type: 'string', multiple: true },
      reason: { type: 'string' },
      out: { type: 'string' },
      recipient: { type: 'string' },
      as: { type: 'string' },
      'approved-by': { type: 'string' },
      'no-derivatives': { type: 'boolean', default: false },
      restore: { type: 'boolean', default: false },
    },
    usage,
  )
  if (values.help) return showUsage(usage)
  if (positionals.length) throw new UsageError(`export-package takes no positional arguments (got ${positionals.join(' ')})\n\nUsage: bodyvault ${usage}`)
  const ids = (values.recording ?? []).map((v) => {
    const n = Number(v)
    if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(n))
      throw new UsageError(`--recording: "${v}" is not a recording id (a positive whole number; see bodyvault recordings)`)
    return n
  })
  if (ids.length === 0) throw new UsageError(`name at least one --recording ID\n\nUsage: bodyvault ${usage}`)
  if (!values.reason?.trim()) throw new UsageError('--reason TEXT is required: why the recordings leave the station')
  if (!values.out) throw new UsageError('--out FILE.zip is required')
  const st = station(values)
  try {
    // The signed-in person asks; an approver named with --approved-by is an account of another person who may approve.
    const who = await evidenceActor(st, values, 'an export package', 'exports:approve')
    const requestedBy = who.actor
    let approvedBy = requestedBy
    if (values['approved-by'] !== undefined) {
      const a = getAccount(st.db, values['approved-by'])
      if (!a.enabled || !a.roles.includes('supervisor')) throw new BodyvaultError('FORBIDDEN', `${a.username} is not an enabled supervisor`)
      if (personOf(a) === personOf(who.user))
        throw new BodyvaultError('SELF_APPROVAL', `${a.username} is the same person as ${who.user.username}: another supervisor must approve`)
      approvedBy = actors.user(a.username)
    }
    await bringBackEvicted(st, ids, { derivatives: !values['no-derivatives'], restore: values.restore, json: values.json, actor: requestedBy })
    const key = st.key()
    const r = await buildEvidencePackage({
      db: st.db,
      vault: st.vault,
      recordingIds: ids,
      requestedBy,
      approvedBy,
      reason: values.reason,
      recipient: values.recipient ?? '(not stated)',
      includeDerivatives: !values['no-derivatives'],
      out: values.out,
      station: { id: st.cfg.station.id, name: st.cfg.station.name, timezone: st.cfg.station.timezone },
      key,
      logger: st.logger,
      anchor: () => st.anchorNow(),
    })
    // The exported events go under a checkpoint too, taken to the anchors.
    writeCheckpoint(st.db, key, { logger: st.logger })
    await st.anchorNow()
    if (values.json) io.stdout(JSON.stringify(r, null, 2) + '\n')
    else {
      io.stdout(`${r.path}: ${bytes(r.bytes)}, sha256 ${r.sha256}\n`)
      io.stdout(
        `package ${r.packageId}: ${r.recordings} recording(s), ${r.events} ledger events with inclusion proofs to checkpoint ${r.checkpoint.id} (${r.checkpoint.treeSize} events)\n`,
      )
      io.stdout(`export recorded in the ledger as event(s) ${r.exportEvents.join(', ')}; manifest sha256 ${r.manifestSha256}\n`)
      io.stdout(`the recipient checks it with VERIFY.md inside, or: bodyvault verify-package ${r.path} --key station.pub.pem\n`)
    }
    return EXIT.ok
  } finally {
    endSignIn(st)
    st.close()
  }
}

/**
 * Objects of the package held only in S3 (evicted, or a catalog rebuilt
 * from the bucket): fetched back first with --restore, or when the person
 * at a terminal says yes; otherwise a missing original stops the export
 * with the command that brings it back (a missing viewing copy is left out).
 */
async function bringBackEvicted(st: Station, ids: number[], o: { derivatives: boolean; restore: boolean; json: boolean; actor: string }): Promise<void> {
  const stored = ids.filter((id) => getRecording(st.db, id)?.status === 'stored')
  const missing = await remoteOnly(st, restoreTargets(st.db, stored.map(String), { derivatives: o.derivatives }))
  if (missing.length === 0) return
  const size = bytes(missing.reduce((a, t) => a + t.size, 0))
  let restore = o.restore
  if (!restore && !o.json && process.stdin.isTTY && process.stderr.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    try {
      const answer = await rl.question(`${missing.length} object(s) of the package (${size}) are held only in S3: fetch them back now? [y/N] `)
      restore = /^y(es)?$/i.test(answer.trim())
    } finally {
      rl.close()
    }
  }
  if (restore) {
    const out = await restoreObjects({ db: st.db, vault: st.vault, s3: st.offload()?.s3 ?? null, logger: st.logger }, missing, o.actor, 'export-package')
    const failed = out.filter((x) => x.status === 'failed')
    if (failed.length)
      throw new BodyvaultError('PACKAGE_OBJECT_MISSING', `could not fetch back from S3: ${failed.map((x) => `${x.what} (${x.error ?? 'failed'})`).join('; ')}`)
    if (!o.json) io.stderr(`fetched back from S3: ${out.filter((x) => x.status === 'fetched').length} object(s), ${size}\n`)
    return
  }
  const originals = missing.filter((t) => t.role === 'original')
  if (originals.length)
    throw new BodyvaultError(
      'PACKAGE_OBJECT_MISSING',
      `${originals.map((t) => t.what).join(', ')}: held only in S3 (evicted from the local vault): add --restore to fetch ${missing.length} object(s) (${size}) back first, or run bodyvault restore-object ${[...new Set(stored)].join(' ')}`,
    )
  if (!o.json) io.stderr(`note: ${missing.map((t) => t.what).join(', ')}: held only in S3, left out of the package (add --restore to include them)\n`)
}

export const exportPackageCommand: Command = { name: 'export-package', usage, run: cmdExportPackage }
