import type { CameraState, CameraStatus, RecentDocking } from '../../../src/dock/status.js'
import type { MessageKey } from '../lib/i18n.js'

/** The colour family of a state: one meaning each, the same on every screen. */
export type Tone = 'waiting' | 'busy' | 'safe' | 'error'

/**
 * What the officer may do with the camera now: take it (every file is
 * verified in the vault), leave it (请勿拔出), or undock and dock it again
 * (an error: nothing more will happen until then).
 */
export type Undock = 'safe' | 'wait' | 'redock'

export interface TileView {
  stateKey: MessageKey
  tone: Tone
  undock: Undock
  /** 0 to 100, from bytes (files when the camera holds only empty files). */
  percent: number
  /** Show the rate and the ETA (only while bytes are moving and their total is known). */
  moving: boolean
  /** Copying has begun but the camera's file list is still being read: no totals yet. */
  surveying: boolean
}

const TONE: Record<CameraState, Tone> = {
  detected: 'waiting',
  unlocking: 'waiting',
  queued: 'waiting',
  copying: 'busy',
  verifying: 'busy',
  wiping: 'busy',
  'safe-to-undock': 'safe',
  error: 'error',
}

/** The dock screen's reading of one camera's status: a pure function of it. */
export function tileView(c: Pick<CameraStatus, 'state' | 'bytes' | 'files'>): TileView {
  const done = c.state === 'safe-to-undock'
  const ratio = c.bytes.total > 0 ? c.bytes.done / c.bytes.total : c.files.total > 0 ? c.files.done / c.files.total : 0
  return {
    stateKey: `state.${c.state}`,
    tone: TONE[c.state],
    undock: done ? 'safe' : c.state === 'error' ? 'redock' : 'wait',
    percent: done ? 100 : Math.min(100, Math.max(0, Math.floor(ratio * 100))),
    moving: (c.state === 'copying' || c.state === 'verifying') && c.bytes.total > 0,
    surveying: c.state === 'copying' && c.files.total === 0 && c.bytes.total === 0,
  }
}

/**
 * The cameras that just left: undocked within `withinMs` of the station's
 * own clock (status.now, so a kiosk PC with a wrong clock shows the same),
 * newest first, at most `max`.
 */
export function justLeft<R extends Pick<RecentDocking, 'endedAt'>>(recent: readonly R[], nowIso: string, withinMs = 15 * 60_000, max = 6): R[] {
  const now = Date.parse(nowIso)
  return recent.filter((r) => now - Date.parse(r.endedAt) <= withinMs).slice(0, max)
}
