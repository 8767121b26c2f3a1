import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openCatalog, type Db } from '../src/catalog/db.js'
import { silentLogger } from '../src/common/log.js'
import { loadProfiles, type DockingProfile } from '../src/dock/profile.js'
import { ingestCamera, type IngestOptions, type IngestReport } from '../src/ingest/session.js'
import { Vault } from '../src/vault/store.js'

export const ROOT = join(import.meta.dirname, '..')
export const PROFILES = loadProfiles(join(ROOT, 'docking'))
export const GAT947 = PROFILES.get('gat947') as DockingProfile
const run = promisify(execFile)

export function tempDir(t: { teardown: (fn: () => void) => void }, prefix = 'bv-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** Builds a fake camera with the project's generator (real ffmpeg media). */
export async function makeCamera(out: string, args: string[] = []): Promise<string> {
  await run('bash', [join(ROOT, 'scripts/make-fake-camera'), '--out', out, '--quiet', ...args], { maxBuffer: 1 << 24 })
  return out
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

export function sha256sum(path: string): string {
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' })
  return r.stdout.split(' ')[0] ?? ''
}

export interface TestStation {
  dataDir: string
  vault: Vault
  db: Db
  ingest(root: string, extra?: Partial<IngestOptions>): Promise<IngestReport>
  reopen(): Db
}

/** A data dir with a catalog, and ingest wired as the CLI wires it. */
export function station(t: { teardown: (fn: () => void) => void }, dataDir?: string): TestStation {
  const dir = dataDir ?? tempDir(t, 'bv-data-')
  const vault = new Vault(dir)
  vault.ensureLayout()
  const s: TestStation = {
    dataDir: dir,
    vault,
    db: openCatalog(vault.catalogPath),
    ingest: (root, extra = {}) =>
      ingestCamera({
        db: s.db,
        vault,
        root,
        profile: GAT947,
        stationId: 'test-station',
        actor: 'station:test-station',
        chunkBytes: 1 << 20,
        readBackVerify: true,
        minFreeBytes: 0,
        logger: silentLogger(),
        ...extra,
      }),
    reopen: () => {
      s.db.close()
      s.db = openCatalog(vault.catalogPath)
      return s.db
    },
  }
  t.teardown(() => {
    if (s.db.open) s.db.close()
  })
  return s
}

/** Runs the built CLI (scripts/test builds dist/ first). */
export function cli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/bodyvault.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, BODYVAULT_LOG_LEVEL: 'warn', ...env },
    maxBuffer: 1 << 26,
  })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}
