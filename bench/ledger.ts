// Ledger benchmark: verify 1,000,000 events (chain + tree + root) and make
// inclusion proofs at 1,000,000 leaves.
//   npx tsc -p tsconfig.json && node dist/bench/ledger.js [events] [samples] [runs]
// Seeds a fresh catalog (a temporary folder) with realistic `ingested` events
// (the registry's attribution and the raw source name among the catalog's
// facts) in one transaction, the catalog rows they record, and one recording
// in a hundred re-categorized by a later event, then times:
//   - the ledger part of `bodyvault verify` (src/verify/vault.ts readSnapshot:
//     the audit below on the other cores while SQLite compares every catalog
//     row with its event and this thread folds the changed ones), median of
//     `runs` runs (default 3) against the 5 s goal, "missed" when missed;
//   - the full audit (src/ledger/audit.ts): every hash recomputed from the
//     event's canonical bytes, links and seq gaps checked, the RFC 6962 tree of
//     all event hashes built and its root taken; with worker threads and in
//     one thread;
//   - LedgerTree load (what a daemon does once at start), a signed checkpoint;
//   - inclusion proofs (generate + verify) and consistency proofs at full size.
// Targets: audit < 5 s, inclusion proof < 5 ms. Prints the load average: the
// machine may be shared, and wall times then include waiting for a core.
// BODYVAULT_BENCH_KEEP=DIR (a new or empty folder): seed there and keep it, so
// that profiles and builds alternated later run on the same catalog. A DIR that
// already holds a kept catalog is reused as it is (no seeding; `events` is then
// the catalog's count): only the audit with workers and verify's ledger part are
// timed (each run's checkpoint adds one event to it), for old and new builds
// alternated on one catalog (copy this file into the old tree's bench/).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { hash } from 'node:crypto'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openCatalog } from '../src/catalog/db.js'
import { auditLedger, auditLedgerSync } from '../src/ledger/audit.js'
import { GENESIS_HASH } from '../src/ledger/canonical.js'
import { writeCheckpoint } from '../src/ledger/checkpoint.js'
import { loadOrCreateStationKey } from '../src/ledger/keys.js'
import { verifyConsistency, verifyInclusion } from '../src/ledger/merkle-proofs.js'
import { LedgerTree } from '../src/ledger/tree.js'
import { checkAnchors } from '../src/anchor/check.js'
import { readSnapshot } from '../src/verify/vault.js'
import { Vault } from '../src/vault/store.js'

const EVENTS = Number(process.argv[2] ?? 1_000_000)
const SAMPLES = Number(process.argv[3] ?? 1_000)
const RUNS = Number(process.argv[4] ?? 3)
if (!Number.isSafeInteger(EVENTS) || EVENTS < 2 || !Number.isSafeInteger(SAMPLES) || SAMPLES < 1 || !Number.isSafeInteger(RUNS) || RUNS < 1) {
  console.error('usage: node dist/bench/ledger.js [events >= 2] [samples >= 1] [runs >= 1]')
  process.exit(2)
}
const AUDIT_TARGET_MS = 5000
const VERIFY_TARGET_MS = 5000
const PROOF_TARGET_MS = 5

const now = (): number => performance.now()
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const f = (ms: number): string => `${ms.toFixed(ms < 10 ? 3 : 0)} ms`
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const random = rng(1000003)
const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
  return `mean ${f(s.reduce((a, b) => a + b, 0) / s.length)}, p50 ${f(at(0.5))}, p99 ${f(at(0.99))}, max ${f(at(1))}`
}

const keep = process.env.BODYVAULT_BENCH_KEEP
let reuse = false
if (keep) {
  mkdirSync(keep, { recursive: true })
  reuse = existsSync(join(keep, 'catalog.db'))
  if (!reuse && readdirSync(keep).length) {
    console.error(`BODYVAULT_BENCH_KEEP: ${keep} is neither empty nor a kept catalog`)
    process.exit(2)
  }
}
const dir = keep ?? mkdtempSync(join(tmpdir(), 'bv-bench-ledger-'))
try {
  console.log(
    `ledger bench: ${EVENTS.toLocaleString('en')} events, ${SAMPLES} proof samples, node ${process.version}, ${availableParallelism()} cores, load average ${load()} at start`,
  )
  const db = openCatalog(join(dir, 'catalog.db'))
  let t0 = now()
  let changed = 0
  let ingested = EVENTS
  if (!reuse) {
    db.pragma('synchronous = OFF') // seeding only
    db.pragma('foreign_keys = OFF') // seeding only (outside the transaction: inside one the pragma does nothing)
    // Seed: ingested-like payloads, canonical text built directly (keys already sorted).
    const insert = db.prepare('INSERT INTO events (seq, type, at, actor, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    let prev = GENESIS_HASH
    // One event chained as the ledger chains it: SHA-256 of the previous hash's bytes and the event's canonical text (keys sorted).
    const append = (seq: number, type: string, at: string, actor: string, subject: string, payload: string): void => {
      const text = `{"actor":"${actor}","at":"${at}","payload":${payload},"seq":${seq},"subject":"${subject}","type":"${type}"}`
      const buf = Buffer.allocUnsafe(32 + Buffer.byteLength(text))
      buf.write(prev, 0, 32, 'hex')
      buf.write(text, 32)
      const h = hash('sha256', buf, 'hex')
      insert.run(seq, type, at, actor, subject, payload, prev, h)
      prev = h
    }
    db.transaction(() => {
      const base = Date.parse('2026-11-20T00:00:00Z')
      for (let seq = 1; seq <= EVENTS; seq++) {
        const sha = hash('sha256', String(seq), 'hex')
        const at = new Date(base + seq * 1000).toISOString()
        // What a docked camera's file records: the registry's attribution and the raw source name among the catalog's facts.
        const file = `A1B2C3D_012345_20261120080000_${String(seq % 10000).padStart(4, '0')}.MP4`
        const payload = `{"caseNumber":null,"category":${seq % 7 === 0 ? '"evidence"' : 'null'},"deviceId":"A1B2C3D","deviceNumber":"BWC-0042","fileCounter":${seq % 10000},"important":${seq % 7 === 0},"kind":"video","officerId":"0${String(12345 + (seq % 50)).padStart(5, '0')}","officerSource":"file-name","profileId":"gat947","recordedAt":"${at}","recordedOffset":"+08:00","recordedSource":"filename","recordingId":${seq},"sessionId":${1 + Math.floor(seq / 8)},"sha256":"${sha}","size":${100_000_000 + seq},"sourcePath":"DCIM/100MEDIA/${file}","sourceRaw":"${Buffer.from(`DCIM/100MEDIA/${file}`).toString('base64')}","stationId":"station-01","unitCode":"PCT-3","volume":"usb:A1B2C3D"}`
        append(seq, 'ingested', at, 'station:station-01', `recording:${seq}`, payload)
      }
      // The catalog rows these events record (sessions are not seeded: foreign keys are off while seeding).
      db.exec(`INSERT INTO recordings (id, sha256, size, kind, source_path, station_id, device_id, officer_id, recorded_at, recorded_offset,
        recorded_source, important, category, case_number, profile_id, session_id, ingested_at, event_seq)
        SELECT payload->>'recordingId', payload->>'sha256', payload->>'size', payload->>'kind', payload->>'sourcePath', payload->>'stationId',
          payload->>'deviceId', payload->>'officerId', payload->>'recordedAt', payload->>'recordedOffset', payload->>'recordedSource',
          payload->>'important', payload->>'category', payload->>'caseNumber', payload->>'profileId', payload->>'sessionId', at, seq FROM events`)
      // One recording in a hundred marked evidence later by a clerk (its row follows): verify folds these in JavaScript.
      const base2 = Date.parse('2026-11-25T00:00:00Z')
      const setCategory = db.prepare("UPDATE recordings SET category = 'evidence' WHERE id = ?")
      for (let id = 50, seq = EVENTS + 1; id <= EVENTS; id += 100, seq++) {
        const at = new Date(base2 + seq).toISOString()
        const from = id % 7 === 0 ? '"evidence"' : 'null'
        const payload = `{"from":${from},"reason":"case 2026-${id}","recordingId":${id},"to":"evidence"}`
        append(seq, 'category-changed', at, 'user:li.clerk', `recording:${id}`, payload)
        setCategory.run(id)
        changed++
      }
    })()
    db.pragma('foreign_keys = ON')
    db.pragma('synchronous = FULL')
  } else {
    ingested = db.prepare("SELECT count(*) FROM events WHERE type = 'ingested'").pluck().get() as number
    changed = db.prepare("SELECT count(*) FROM events WHERE type = 'category-changed'").pluck().get() as number
  }
  const total = db.prepare('SELECT count(*) FROM events').pluck().get() as number
  console.log(
    `${reuse ? `reused ${dir}` : 'seed (one transaction)              '} ${f(now() - t0)}  (${ingested.toLocaleString('en')} ingested, ${changed.toLocaleString('en')} category changes)`,
  )

  // The audit: chain + tree + root.
  let c0 = cpuMs()
  t0 = now()
  const par = await auditLedger(db)
  const parMs = now() - t0
  const parCpu = cpuMs() - c0
  if (par.problems.length || par.events !== total) throw new Error(`audit found problems on a clean ledger: ${JSON.stringify(par.problems.slice(0, 3))}`)
  console.log(
    `audit, ${par.workers} worker threads               ${f(parMs)} wall (${f(parCpu)} CPU, all threads), root ${par.root.toString('hex').slice(0, 16)}…, ${par.slowPath} slow-path payloads  [target < ${AUDIT_TARGET_MS} ms: ${parMs < AUDIT_TARGET_MS ? 'met' : 'NOT met'}]`,
  )
  if (!reuse) {
    c0 = cpuMs()
    t0 = now()
    const one = auditLedgerSync(db)
    const oneMs = now() - t0
    console.log(`audit, one thread                    ${f(oneMs)} wall (${f(cpuMs() - c0)} CPU)`)
    if (!one.root.equals(par.root)) throw new Error('one-thread and worker audits disagree on the root')
  }

  // The ledger part of `bodyvault verify` (src/verify/vault.ts): readSnapshot (the audit's workers hash while this
  // thread folds the events and compares every catalog row with the fold, in one read snapshot), then checkAnchors
  // (the signed checkpoint against the tree the workers built). Median of RUNS runs.
  const vault = new Vault(dir)
  const key = loadOrCreateStationKey(dir, 'bench')
  t0 = now()
  const cp = writeCheckpoint(db, key).checkpoint
  console.log(`signed checkpoint at ${cp.treeSize.toLocaleString('en')}         ${f(now() - t0)}`)
  // One event more, or none when a reused catalog's last event is already a checkpoint of everything before it.
  const events = db.prepare('SELECT count(*) FROM events').pluck().get() as number
  const runs: { ms: number; cpu: number; snapMs: number; neededMs: number }[] = []
  for (let i = 0; i < RUNS; i++) {
    const c = cpuMs()
    const t = now()
    const snap = await readSnapshot(db, vault, undefined, undefined)
    const snapMs = now() - t
    const anchors = await checkAnchors(db, dir, undefined, snap.tree)
    const ms = now() - t
    const cpu = cpuMs() - c
    // The objects' list: read inside the snapshot, made a map when the objects part (not timed here) first walks it.
    const n0 = now()
    const objects = snap.needed.size
    runs.push({ ms, cpu, snapMs, neededMs: now() - n0 })
    // The bench's data dir has no vault marker: only the ledger's, the catalog's and the checkpoints' findings count here.
    const found = [...snap.problems.filter((p) => p.kind === 'ledger' || p.kind.startsWith('catalog-')), ...anchors.problems]
    if (found.length || snap.events !== events || snap.recordings !== ingested || objects !== ingested || (par.workers > 0 && !snap.tree))
      throw new Error(`verify's ledger part found problems on a clean ledger: ${JSON.stringify(found.slice(0, 3))}`)
  }
  runs.sort((a, b) => a.ms - b.ms)
  const mid = runs[Math.floor(runs.length / 2)]!
  console.log(
    `verify, ledger part                  ${f(mid.ms)} wall, median of ${RUNS} (runs ${runs.map((r) => f(r.ms)).join(', ')}; of it audit | fold and compare ${f(mid.snapMs)}, checkpoints ${f(mid.ms - mid.snapMs)}), ${f(mid.cpu)} CPU all threads, load average ${load()}  [target < ${VERIFY_TARGET_MS} ms: ${mid.ms < VERIFY_TARGET_MS ? 'met' : 'missed'}]`,
  )
  console.log(`  the objects' list made a map        ${f(mid.neededMs)} (paid by the objects part when it starts, not by the ledger part)`)
  if (reuse) {
    db.close()
    console.log(`load average ${load()} at end`)
    process.exit(0)
  }

  // What the daemon does once per process (LedgerTree.for; writeCheckpoint has made this process's, so a fresh one here).
  t0 = now()
  const tree = LedgerTree.build(db)
  console.log(`LedgerTree load (hashes -> tree)     ${f(now() - t0)}  (${tree.size.toLocaleString('en')} leaves)`)
  if (!tree.rootAt(total).equals(par.root)) throw new Error('LedgerTree root differs from the audit root')

  // Inclusion proofs at full size (the seeded events; the checkpoint's own event is one more): generate + verify.
  const root = tree.rootAt(EVENTS)
  const gen: number[] = []
  const both: number[] = []
  let failures = 0
  for (let i = 0; i < SAMPLES; i++) {
    const seq = 1 + Math.floor(random() * EVENTS)
    const a = now()
    const proof = tree.inclusionProof(seq, EVENTS)
    const b = now()
    if (!verifyInclusion(seq - 1, EVENTS, tree.leaf(seq - 1), proof, root)) failures++
    const c = now()
    gen.push(b - a)
    both.push(c - a)
  }
  const p99 = [...both].sort((a, b) => a - b)[Math.floor(0.99 * both.length)] ?? 0
  console.log(`inclusion proof, generate            ${stats(gen)}`)
  console.log(`inclusion proof, generate + verify   ${stats(both)}  [target < ${PROOF_TARGET_MS} ms (p99): ${p99 < PROOF_TARGET_MS ? 'met' : 'NOT met'}]`)
  const cons: number[] = []
  for (let i = 0; i < Math.min(SAMPLES, 200); i++) {
    const m = 1 + Math.floor(random() * (EVENTS - 1))
    const a = now()
    const p = tree.consistencyProof(m, EVENTS)
    if (!verifyConsistency(m, EVENTS, p, tree.rootAt(m), root)) failures++
    cons.push(now() - a)
  }
  console.log(`consistency proof, generate + verify ${stats(cons)}`)
  console.log(`verification failures                ${failures}`)
  const mem = process.memoryUsage()
  console.log(`rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB; load average ${load()} at end`)
  db.close()
  if (failures) process.exitCode = 1
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true })
}
