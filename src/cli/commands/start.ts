import { realUsbBackend } from '../../dock/usb.js'
import { startDaemon } from '../../station/daemon.js'
import { EXIT, parse, showUsage, station, type Command } from '../common.js'

const usage = 'start'

async function cmdStart(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const st = station(values, false, { checkIntegrity: true })
  try {
    const running = await startDaemon(st, { usb: realUsbBackend() })
    await new Promise<void>((done) => {
      const stop = (sig: string): void => {
        st.logger.info({ event: 'station.stop', signal: sig }, 'bodyvault station stopping')
        done()
      }
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })
    await running.stop()
  } finally {
    st.close()
  }
  return EXIT.ok
}

export const startCommand: Command = { name: 'start', usage, run: cmdStart }
