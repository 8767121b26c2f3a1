// A real directory for the tests (OpenLDAP's slapd via scripts/ldap-test-server):
// started once per test file on free loopback ports with its own test CA, LDAPS
// on one port and LDAP with StartTLS on the other, stopped at teardown and at exit.
import { execFile, execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Attribute, Change, Client } from 'ldapts'
import { ROOT } from './helpers.js'

const run = promisify(execFile)
export const LDAP_SCRIPT = join(ROOT, 'scripts/ldap-test-server')

export interface LdapServer {
  /** ldap:// (StartTLS) and ldaps:// URLs, the test CA's PEM file. */
  url: string
  tlsUrl: string
  ca: string
  /** Changes as the directory's admin would make them (groups, attributes). */
  modify(dn: string, operation: 'add' | 'delete' | 'replace', type: string, values: string[]): Promise<void>
  /** The directory goes down (the server is stopped). */
  stop(): Promise<void>
}

export async function useLdapServer(t: { comment: (m: string) => void; teardown: (fn: () => unknown) => void }, ldif: string): Promise<LdapServer> {
  const dir = join(tmpdir(), `bodyvault-ldap-${process.pid}`)
  const file = `${dir}.ldif`
  writeFileSync(file, ldif)
  const started = Date.now()
  // The first run may have to apt-get install slapd.
  const { stdout } = await run(LDAP_SCRIPT, ['start', '--dir', dir, '--ldif', file], { timeout: 240_000 })
  const env: Record<string, string> = {}
  for (const m of stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) env[m[1]!] = m[2]!
  t.comment(`started slapd at ${env.LDAPS_URL} in ${Date.now() - started} ms`)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await run(LDAP_SCRIPT, ['stop', '--dir', dir]).catch(() => undefined)
    rmSync(file, { force: true })
  }
  t.teardown(stop)
  process.once('exit', () => {
    if (stopped) return
    execFileSync(LDAP_SCRIPT, ['stop', '--dir', dir])
    rmSync(file, { force: true })
  })
  return {
    url: env.LDAP_URL!,
    tlsUrl: env.LDAPS_URL!,
    ca: env.LDAP_CA!,
    stop,
    modify: async (dn, operation, type, values) => {
      const c = new Client({ url: env.LDAP_URL! })
      try {
        await c.bind(env.LDAP_ROOTDN!, env.LDAP_ROOTPW!)
        await c.modify(dn, new Change({ operation, modification: new Attribute({ type, values }) }))
      } finally {
        await c.unbind()
      }
    },
  }
}
