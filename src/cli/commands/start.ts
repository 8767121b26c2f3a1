import { stuckReads } from '../../ingest/source.js'
import { EXIT, parse, showUsage, type Command } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('start')

async function cmdStart(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  // The handlers go in before the station opens (its first log lines, a new key's, come from opening it) and before the
  // daemon starts: a stop asked for meanwhile (systemd's, or Ctrl-C) is kept and honoured once it has started, through
  // the same orderly stop, instead of the signal's default killing it half-started. (The tests' children used to carry
  // tap's hook, whose own SIGTERM handler hid a signal sent during the opening.)
  const signalled = new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'))
    process.once('SIGTERM', () => done('SIGTERM'))
  })
  const st = station(values, { quiet: false, create: true, daemon: true, checkIntegrity: true })
  const stopped = signalled.then((sig) => {
    st.logger.info({ event: 'station.stop', signal: sig }, 'bodyvault station stopping')
  })
  try {
    // Loaded here, not at the top: every other command (an ingest, a status) would pay for the daemon's API and web
    // modules at start-up, about 0.3 CPU-s each (bench/ingest.ts counts it in the CPU per GB).
    const [{ startDaemon }, { realUsbBackend }] = await Promise.all([import('../../station/daemon.js'), import('../../dock/usb.js')])
    const running = await startDaemon(st, { usb: realUsbBackend() })
    await stopped
    await running.stop()
    const stuck = stuckReads(0)
    if (stuck.length) {
      // A read stuck in the kernel (a hung USB device) cannot be interrupted and would keep the process alive: leave without it.
      st.logger.warn({ event: 'station.stuck_reads', reads: stuck.length, first: stuck[0]!.path }, 'camera reads never returned: exiting without them')
      st.close()
      process.exit(EXIT.ok)
    }
  } finally {
    st.close()
  }
  return EXIT.ok
}

export const startCommand: Command = { name: 'start', usage, run: cmdStart }
