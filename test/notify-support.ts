// Real receivers for the notice tests, on 127.0.0.1: a webhook receiver
// (node http) that checks each request's HMAC the way a third party would
// (its own createHmac, not bodyvault's code), and an SMTP server (the
// smtp-server package) with AUTH whose messages are read by mailparser.
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface Hook {
  body: string
  json: { kind: string; key: string; subject: string; text: string; items: Record<string, unknown>[]; station: { id: string } }
  headers: Record<string, string | string[] | undefined>
  /** The signature matched HMAC-SHA256(secret, "<timestamp>.<body>") and the timestamp was within 5 minutes. */
  signed: boolean
}

export interface Receiver {
  port: number
  url: string
  got: Hook[]
  /** Starts listening (a receiver made with `down` refuses connections until then). */
  up(): Promise<void>
  down(): Promise<void>
}

/** A webhook receiver on `port` (0: any); `down`: not listening yet (connections refused). */
export async function webhookReceiver(t: { teardown: (fn: () => unknown) => void }, secret: string, o: { port: number; down?: boolean }): Promise<Receiver> {
  const got: Hook[] = []
  let server: Server | null = null
  const r: Receiver = {
    port: o.port,
    url: '',
    got,
    up: () =>
      new Promise((resolve, reject) => {
        server = createServer((req, res) => {
          const chunks: Buffer[] = []
          req.on('data', (c: Buffer) => chunks.push(c))
          req.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8')
            const ts = String(req.headers['x-bodyvault-timestamp'] ?? '')
            const want = `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`
            const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300
            got.push({ body, json: JSON.parse(body) as Hook['json'], headers: req.headers, signed: fresh && req.headers['x-bodyvault-signature'] === want })
            res.writeHead(204).end()
          })
        })
        server.on('error', reject)
        server.listen(r.port, '127.0.0.1', () => {
          const a = server!.address()
          r.port = typeof a === 'object' && a ? a.port : r.port
          r.url = `http://127.0.0.1:${r.port}/bodyvault/notices`
          resolve()
        })
      }),
    down: () =>
      new Promise((resolve) => {
        if (!server) return resolve()
        server.closeAllConnections()
        server.close(() => resolve())
        server = null
      }),
  }
  r.url = `http://127.0.0.1:${r.port}/bodyvault/notices`
  if (!o.down) await r.up()
  t.teardown(() => r.down())
  return r
}

export interface Mail {
  from: string
  to: string[]
  subject: string
  text: string
  noticeHeader: string
  attachment: string
}

/** An SMTP server on 127.0.0.1 that takes mail only after AUTH with this user and password (no STARTTLS: plain loopback). */
export async function smtpServer(t: { teardown: (fn: () => unknown) => void }, user: string, password: string): Promise<{ port: number; mails: Mail[] }> {
  const mails: Mail[] = []
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) cb(null, { user })
      else cb(new Error('invalid credentials'))
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((m) => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: m.subject ?? '',
            text: m.text ?? '',
            noticeHeader: String(m.headers.get('x-bodyvault-notice') ?? ''),
            attachment: m.attachments[0]?.content.toString('utf8') ?? '',
          })
          cb()
        })
        .catch(cb)
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const a = server.server.address()
  return { port: typeof a === 'object' && a ? a.port : 0, mails }
}
