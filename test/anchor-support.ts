// What an attacker with write access to a station's files does to its
// checkpoints, for the anchor tests (test/anchor-*.test.ts, test/witness-stations.test.ts).
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { chainHash, GENESIS_HASH } from '../src/ledger/canonical.js'

type Row = { seq: number; type: string; at: string; actor: string; subject: string; payload: string; prev_hash: string; hash: string }

/**
 * Rewrites the catalog at `dataDir` as someone with the file would (the station closed first):
 * triggers dropped; the officer of the `ingested` event of recording `recordingId` changed, in
 * the event and in its row; every `checkpoint` event blanked into an innocent-looking note
 * (removing it would renumber the ledger); every chain hash recomputed; every checkpoint row and
 * co-signature deleted; the triggers put back. With `deleteLog`, the checkpoint log goes too.
 * The chain walk and the catalog checks find nothing after this.
 */
export function rewriteHistory(dataDir: string, o: { recordingId?: number; deleteLog?: boolean } = {}): void {
  const db = new Database(join(dataDir, 'catalog.db'))
  db.pragma('foreign_keys = OFF')
  const tables = ['events', 'checkpoints', 'checkpoint_cosignatures']
  const triggers = db
    .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (${tables.map(() => '?').join(', ')})`)
    .all(...tables) as {
    name: string
    sql: string
  }[]
  for (const tr of triggers) db.exec(`DROP TRIGGER ${tr.name}`)
  let prev = GENESIS_HASH
  const who = o.recordingId ?? 2
  for (const r of db.prepare('SELECT * FROM events ORDER BY seq').all() as Row[]) {
    let type = r.type
    let payload = JSON.parse(r.payload) as Record<string, unknown>
    if (r.type === 'ingested' && payload.recordingId === who) payload.officerId = '999999'
    if (r.type === 'checkpoint') {
      type = 'note'
      payload = { text: 'maintenance' }
    }
    const text = JSON.stringify(Object.fromEntries(Object.entries(payload).sort(([x], [y]) => (x < y ? -1 : 1))))
    const hash = chainHash(prev, { seq: r.seq, type, at: r.at, actor: r.actor, subject: r.subject, payload })
    db.prepare('UPDATE events SET type = ?, payload = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(type, text, prev, hash, r.seq)
    prev = hash
  }
  db.prepare("UPDATE recordings SET officer_id = '999999' WHERE id = ?").run(who)
  db.prepare('DELETE FROM checkpoint_cosignatures').run()
  db.prepare('DELETE FROM checkpoints').run()
  for (const tr of triggers) db.exec(tr.sql)
  db.close()
  if (o.deleteLog) rmSync(join(dataDir, 'checkpoints.log'), { force: true })
}
