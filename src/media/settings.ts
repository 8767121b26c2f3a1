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
}
