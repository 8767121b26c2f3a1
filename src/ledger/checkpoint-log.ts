/**
 * The checkpoint log: every signed checkpoint, appended (and fsynced) to a
 * text file beside the catalog, `checkpoints.log` in the data dir. It defends
 * against edits of the catalog alone: whoever rewrites the ledger and deletes
 * the checkpoint rows in catalog.db still leaves the signed roots here, and
 * the station refuses to sign over a ledger this file contradicts.
 *
 * One JSON object a line, in the order signed:
 *   {"at":"<ISO time appended>","id":<catalog id>,"note":"<the signed note>"}
 * plus "late":true on a checkpoint appended after the fact (the file was
 * missing or behind the catalog, see syncCheckpointLog). The note is what
 * counts; the other fields are for people reading the file.
 */
import { closeSync, constants as C, fsyncSync, openSync, readFileSync, readSync, fstatSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { listCheckpoints, type Checkpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { NoteError, parseCheckpointBody, parseSignedNote } from './note.js'

export const CHECKPOINT_LOG = 'checkpoints.log'

/** Where the checkpoint log of this catalog is (beside it); undefined for a catalog in memory. */
export function checkpointLogPath(db: Db): string | undefined {
  return db.name && db.name !== ':memory:' ? join(dirname(db.name), CHECKPOINT_LOG) : undefined
}

export interface LogEntry {
  /** 1-based line number; 0 when read from the tail (lastLogEntry). */
  line: number
  at: string
  id: number | null
  late: boolean
  note: string
  /** From the signed note. */
  origin: string
  treeSize: number
  rootHash: string
}

export interface CheckpointLog {
  exists: boolean
  entries: LogEntry[]
  /** Lines that are not entries (a torn last line after a crash while appending, or an edit). */
  bad: { line: number; detail: string }[]
}

function parseLine(text: string, line: number): LogEntry | string {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object'
  const o = v as Record<string, unknown>
  if (typeof o.note !== 'string' || typeof o.at !== 'string') return 'no "note" or "at"'
  try {
    const body = parseCheckpointBody(parseSignedNote(o.note).text)
    return {
      line,
      at: o.at,
      id: typeof o.id === 'number' ? o.id : null,
      late: o.late === true,
      note: o.note,
      origin: body.origin,
      treeSize: body.treeSize,
      rootHash: body.rootHash.toString('hex'),
    }
  } catch (err) {
    return `the note is not a checkpoint: ${err instanceof NoteError ? err.message : errorMessage(err)}`
  }
}

/** Reads the whole log; a missing file is `exists: false`. */
export function readCheckpointLog(path: string): CheckpointLog {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { exists: false, entries: [], bad: [] }
    throw err
  }
  const entries: LogEntry[] = []
  const bad: CheckpointLog['bad'] = []
  const lines = text.split('\n')
  const torn = lines.pop() // '' when the file ends in a newline, as it should
  lines.forEach((l, i) => {
    const e = parseLine(l, i + 1)
    if (typeof e === 'string') bad.push({ line: i + 1, detail: e })
    else entries.push(e)
  })
  if (torn) bad.push({ line: lines.length + 1, detail: 'the last line is incomplete (cut off while it was appended?)' })
  return { exists: true, entries, bad }
}

/** The last complete entry of the log (read from its tail), or undefined when there is none. */
export function lastLogEntry(path: string): LogEntry | undefined {
  let fd: number
  try {
    fd = openSync(path, C.O_RDONLY)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
  try {
    const size = fstatSync(fd).size
    const n = Math.min(size, 1 << 16)
    const buf = Buffer.alloc(n)
    readSync(fd, buf, 0, n, size - n)
    const lines = buf.toString('utf8').split('\n')
    lines.pop()
    for (let i = lines.length - 1; i >= (n < size ? 1 : 0); i--) {
      const e = parseLine(lines[i]!, 0)
      if (typeof e !== 'string') return e
    }
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** Opens the log to append, making it (and fsyncing its folder, so the file survives a crash) when it is missing. */
function openLog(path: string): number {
  try {
    return openSync(path, C.O_WRONLY | C.O_APPEND)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
  const fd = openSync(path, C.O_WRONLY | C.O_APPEND | C.O_CREAT, 0o644)
  try {
    fsyncSync(fd)
    const dfd = openSync(dirname(path), C.O_RDONLY | C.O_DIRECTORY)
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return fd
}

/**
 * Makes the log, empty, when it is missing: called before the first checkpoint
 * commits, so that a crash between that commit and its log line leaves a log
 * behind by one (appended late by the next checkpoint) and not a missing log,
 * which verify must read as deleted.
 */
export function ensureCheckpointLog(path: string): void {
  closeSync(openLog(path))
}

/** Appends checkpoints to the log and fsyncs it (made first when missing, see openLog). */
export function appendCheckpointLog(path: string, items: readonly { checkpoint: Checkpoint; late: boolean }[], now = new Date()): void {
  if (items.length === 0) return
  const fd = openLog(path)
  try {
    const text = items
      .map(({ checkpoint: c, late }) => `${JSON.stringify({ at: now.toISOString(), id: c.id, note: c.note, ...(late ? { late: true } : {}) })}\n`)
      .join('')
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

const sameCheckpoint = (c: Pick<Checkpoint, 'treeSize' | 'rootHash' | 'origin'>, e: Pick<LogEntry, 'treeSize' | 'rootHash' | 'origin'>): boolean =>
  c.treeSize === e.treeSize && c.rootHash === e.rootHash && c.origin === e.origin

/**
 * Brings the log up to the catalog: appends every stored checkpoint it lacks
 * (`justSigned`, the one signed a moment ago, in time; the others marked
 * late). Usually that is one line after the last; a missing file is started
 * from the catalog, said in the station log as an error (a deleted log is
 * the one thing this file cannot show by itself).
 */
export function syncCheckpointLog(db: Db, path: string, o: { justSigned?: number; logger?: Logger; now?: Date } = {}): number {
  const rows = listCheckpoints(db)
  if (rows.length === 0) return 0
  const last = lastLogEntry(path)
  let missing: Checkpoint[]
  const lastRow = last ? [...rows].reverse().find((r) => sameCheckpoint(r, last)) : undefined
  if (lastRow) missing = rows.filter((r) => r.id > lastRow.id)
  else {
    const log = readCheckpointLog(path)
    if (!log.exists && rows.some((r) => r.id !== o.justSigned))
      o.logger?.error(
        { event: 'anchor.log_missing', path, checkpoints: rows.length },
        'the checkpoint log was missing: it is started again from the catalog (if it was deleted, the catalog alone now vouches for the older checkpoints)',
      )
    missing = rows.filter((r) => !log.entries.some((e) => sameCheckpoint(r, e)))
  }
  appendCheckpointLog(
    path,
    missing.map((c) => ({ checkpoint: c, late: c.id !== o.justSigned })),
    o.now,
  )
  return missing.length
}
