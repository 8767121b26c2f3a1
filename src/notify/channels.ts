/**
 * The notices' two adapters, kept thin: a webhook (a JSON POST with the
 * signature headers; a 2xx answer is delivery) and SMTP through nodemailer
 * (the server's acceptance is delivery). Each throws on failure; the
 * outbox (./notifier.ts) decides about retrying.
 */
import type { Transporter } from 'nodemailer'
import { errorMessage } from '../common/errors.js'
import { signWebhook } from './notice.js'
import { channelId, readSecret, type ChannelConfig } from './settings.js'

export interface Sender {
  /** `webhook:<name>`, `smtp:<name>`. */
  id: string
  config: ChannelConfig
  /** To whom, as the ledger says it: the webhook's origin (never its path or query, which may carry a token), the mail's recipients. */
  to: string
  send(n: { kind: string; key: string; subject: string; text: string; body: string }): Promise<void>
  close(): void
}

/** A channel's sender; its secret is read now (a missing one is CONFIG_INVALID naming the file or variable). */
export function makeSender(c: ChannelConfig, env: NodeJS.ProcessEnv): Sender {
  const id = channelId(c)
  const timeoutMs = (c.timeoutSeconds ?? 10) * 1000
  if (c.type === 'webhook') {
    const secret = readSecret(c.secret, `notify channel ${id}`, env)
    return {
      id,
      config: c,
      to: new URL(c.url).origin,
      send: async (n) => {
        const ts = Math.floor(Date.now() / 1000)
        const res = await fetch(c.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'bodyvault-notify',
            'x-bodyvault-timestamp': String(ts),
            'x-bodyvault-signature': signWebhook(secret, ts, n.body),
            // The same on every attempt: a receiver that got a notice whose answer was lost can tell the repeat.
            'x-bodyvault-notice': `${n.kind}/${n.key}`,
          },
          body: n.body,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        }).catch((err: unknown) => {
          // fetch says only "fetch failed"; the log and the outbox want the reason (ECONNREFUSED, a timeout, a TLS error).
          const cause = (err as { cause?: { code?: string; message?: string } }).cause
          throw new Error(`the webhook could not be reached: ${cause?.code ?? cause?.message ?? errorMessage(err)}`)
        })
        await res.arrayBuffer().catch(() => undefined)
        if (res.status < 200 || res.status > 299) throw new Error(`the webhook answered HTTP ${res.status}`)
      },
      close: () => undefined,
    }
  }
  const password = c.auth ? readSecret(c.auth.password, `notify channel ${id} (auth.password)`, env) : null
  let transport: Transporter | null = null
  return {
    id,
    config: c,
    to: c.to.join(', '),
    send: async (n) => {
      // nodemailer is loaded at the first mail, not by every command that opens a station.
      transport ??= (await import('nodemailer')).default.createTransport({
        host: c.host,
        port: c.port,
        secure: c.secure,
        requireTLS: c.requireTLS ?? false,
        ...(c.auth && password !== null ? { auth: { user: c.auth.user, pass: password } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      })
      await transport.sendMail({
        from: c.from,
        to: c.to,
        subject: n.subject,
        text: n.text,
        headers: { 'X-Bodyvault-Notice': `${n.kind}/${n.key}` },
        attachments: [{ filename: 'notice.json', content: n.body, contentType: 'application/json; charset=utf-8' }],
      })
    },
    close: () => transport?.close(),
  }
}
