import { BodyvaultError, UsageError } from '../../common/errors.js'
import { reindexFromS3 } from '../../offload/reindex.js'
import { bytes, duration } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('reindex')

async function cmdReindex(args: string[]): Promise<number> {
  const { values } = parse(args, { 'from-s3': { type: 'boolean', default: false }, fetch: { type: 'boolean', default: false } }, usage)
  if (values.help) return showUsage(usage)
  if (!values['from-s3']) throw new UsageError(`reindex rebuilds a catalog from the S3 bucket: --from-s3 is required\n\nUsage: bodyvault ${usage}`)
  // The one command that opens a missing or empty catalog: it is the way out CATALOG_MISSING names.
  const st = station(values, { create: true, rebuildCatalog: true })
  try {
    const d = st.requireOffload()
    try {
      const r = await reindexFromS3({
        db: st.db,
        vault: st.vault,
        s3: d.s3,
        settings: d.settings,
        stationId: st.cfg.station.id,
        logger: st.logger,
        proxy: st.cfg.media.proxy,
        // A copy already in the data dir is checked as the fixity job checks it: a good one kept, a bad one reported, then
        // replaced from the bucket; with --fetch the absent ones are fetched too.
        local: {
          checkLocal: async (o) => (await st.fixity.check({ ...o, checkedAt: null, failedAt: null }, { where: 'reindex' })).outcome,
          fetchMissing: values.fetch,
        },
      })
      if (values.json) {
        io.stdout(JSON.stringify(r, null, 2) + '\n')
      } else {
        io.stdout(
          `rebuilt from s3://${r.bucket}/${r.prefix} in ${duration(r.durationMs)}: ${r.events} events (${r.ledgerSegments} ledger segments, ${r.manifests} manifests), ${r.recordings} recordings (${r.stored} stored, ${r.purged} purged), ${r.cases} cases, ${r.holds} holds, ${r.flags} retention flags, ${r.markers} markers, ${r.reviews} review samples\n`,
        )
        const ro = r.roster
        io.stdout(
          `roster: ${ro.units} units, ${ro.officers} officers, ${ro.devices} devices, ${ro.assignments} assignments, ${ro.attributions} recording attributions\n`,
        )
        const m = r.media
        io.stdout(
          `media: ${m.mediaInfo} probe results, ${m.derivatives} derivatives, ${m.links} sidecar links; jobs ${m.mediaJobs.done} done, ${m.mediaJobs.failed} failed, ${m.mediaJobs.queued} queued\n`,
        )
        const o = r.objects
        io.stdout(
          `objects: ${o.checked} of ${o.remote} present in the bucket; local: ${o.present} already here and good (${bytes(o.presentBytes)}), ${o.fetched} fetched (${bytes(o.fetchedBytes)}${o.replaced.length ? `, ${o.replaced.length} in place of a bad local copy` : ''}), ${o.failed.length} failed${
            values.fetch ? '' : '; the others stay in the bucket (fetched back when read, by bodyvault restore-object, or reindex --fetch)'
          }\n`,
        )
        const fx = r.fixity
        io.stdout(
          `fixity: ${fx.open} open finding(s) (a local copy found bad, not repaired), ${fx.checked} object(s) with a check on the record, ${fx.runs} run(s) of the fixity job\n`,
        )
        for (const p of r.ledgerProblems) io.stdout(`ledger problem at event ${p.seq}: ${p.detail}\n`)
        for (const id of r.manifestsMissing)
          io.stdout(`manifest missing: recording ${id} is in the ledger but its manifest is not in the bucket (rebuilt from the ledger alone)\n`)
        for (const id of r.manifestsHidden)
          io.stdout(`manifest deleted: a delete marker hides the manifest of recording ${id} (the version under it was read)\n`)
        for (const id of r.manifestsUnprotected)
          io.stdout(
            `manifest unprotected: recording ${id}'s manifest has no legal hold (written before manifests were held): written again under one by the next offload pass\n`,
          )
        for (const x of r.objects.missing) io.stdout(`missing: ${x}\n`)
        for (const x of r.objects.replaced) io.stdout(`bad local copy replaced: ${x} (reported: fixity-failed, object-repaired)\n`)
        for (const x of r.objects.failed) io.stdout(`not fetched: ${x}\n`)
        for (const n of r.notRestored) io.stdout(`not restored: ${n}\n`)
        for (const n of r.notes) io.stdout(`note: ${n}\n`)
        io.stdout('run bodyvault verify to check the rebuilt catalog\n')
      }
      confirmVault(values)
      const problems = r.ledgerProblems.length + r.objects.missing.length + r.objects.failed.length + r.manifestsMissing.length + r.manifestsHidden.length
      return problems ? EXIT.problems : EXIT.ok
    } finally {
      d.s3.destroy()
    }
  } finally {
    st.close()
  }
}

/** Opens the rebuilt catalog as every command does: it must be this vault's (the marker's genesis), and the vault is marked if it was not. */
function confirmVault(values: { config?: string | undefined; verbose?: boolean | undefined }): void {
  try {
    station(values).close()
  } catch (err) {
    if (err instanceof BodyvaultError && err.code === 'CATALOG_SUBSTITUTED')
      throw new BodyvaultError(
        'CATALOG_SUBSTITUTED',
        `the catalog rebuilt from the bucket is not this vault's: ${err.message}. Check offload.bucket and offload.prefix, move catalog.db aside and rebuild again`,
      )
    throw err
  }
}

export const reindexCommand: Command = { name: 'reindex', usage, run: cmdReindex }
