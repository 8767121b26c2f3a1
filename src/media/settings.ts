import type { ProxySettings } from './proxy-policy.js'

/** The `media` section of the configuration (config/default.json): tools, proxy encoding, jobs. */
export interface MediaSettings {
  ffmpegPath: string | null
  ffprobePath: string | null
  preset: string
  crf: number
  maxHeight: number
  audioBitrate: string
  thumbnailWidth: number
  /** Jobs at once; null: half the cores, at least 1. */
  concurrency: number | null
  maxAttempts: number
  retryBaseSeconds: number
  timeoutSeconds: number
  nice: number
  /** How proxies are made: remux what a browser plays as it is, transcode the rest (./proxy-policy.ts). */
  proxy: ProxySettings
}
