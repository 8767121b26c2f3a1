import { ledgerHead } from '../../ledger/ledger.js'
import { EXIT, io, parse, station, type Command } from '../common.js'

const usage = 'start'

async function cmdStart(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return (io.stdout(`Usage: bodyvault ${usage}\n`), EXIT.ok)
  const st = station(values, false)
  const cleaned = await st.vault.cleanStaging()
  const head = ledgerHead(st.db)
  st.logger.info({ event: 'station.start', station: st.cfg.station.id, dataDir: st.cfg.dataDir, ledgerHead: head.seq, stagingCleaned: cleaned.length, profiles: [...st.profiles.keys()] }, 'bodyvault station ready')
  await new Promise<void>((done) => {
    const stop = (sig: string): void => {
      st.logger.info({ event: 'station.stop', signal: sig }, 'bodyvault station stopping')
      done()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  st.close()
  return EXIT.ok
}

export const startCommand: Command = { name: 'start', usage, run: cmdStart }
