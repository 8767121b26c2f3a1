import { getAccount, personOf } from '../../api/accounts.js'
import { BodyvaultError, UsageError } from '../../common/errors.js'
import { actors } from '../../ledger/events.js'
import { buildEvidencePackage } from '../../export/package.js'
import { writeCheckpoint } from '../../ledger/checkpoint.js'
import { loadOrCreateStationKey } from '../../ledger/keys.js'
import { bytes } from '../format.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { EXIT, io, parse, station, type Command, showUsage } from '../common.js'

const usage =
  'export-package --recording ID [--recording ID ...] --reason TEXT --out FILE.zip\n      [--recipient TEXT] [--approved-by USER] [--as USER] [--no-derivatives] [--json]'

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
    const key = loadOrCreateStationKey(st.cfg.dataDir, st.cfg.station.id, st.logger)
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
    })
    // The exported events go under a checkpoint too.
    writeCheckpoint(st.db, key, { logger: st.logger })
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

export const exportPackageCommand: Command = { name: 'export-package', usage, run: cmdExportPackage }
