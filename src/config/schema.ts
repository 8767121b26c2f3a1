/** JSON schema of the configuration file (config/default.json shows every key with its default). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['station', 'dataDir', 'listen', 'log', 'docking', 'ingest', 'media'],
  properties: {
    station: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'timezone'],
      properties: {
        id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
        name: { type: 'string', minLength: 1, maxLength: 200 },
        timezone: { type: 'string', minLength: 1, maxLength: 64 },
      },
    },
    dataDir: { type: 'string', minLength: 1 },
    listen: { type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' },
    log: {
      type: 'object',
      additionalProperties: false,
      required: ['level'],
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    docking: {
      type: 'object',
      additionalProperties: false,
      required: ['profilesDir', 'defaultProfile'],
      properties: {
        profilesDir: { type: ['string', 'null'], minLength: 1 },
        defaultProfile: { type: 'string', minLength: 1 },
      },
    },
    ingest: {
      type: 'object',
      additionalProperties: false,
      required: ['chunkBytes', 'minFreeBytes', 'readBackVerify'],
      properties: {
        chunkBytes: { type: 'integer', minimum: 65536, maximum: 67108864 },
        minFreeBytes: { type: 'integer', minimum: 0 },
        readBackVerify: { type: 'boolean' },
      },
    },
    media: {
      type: 'object',
      additionalProperties: false,
      required: ['ffmpegPath', 'ffprobePath'],
      properties: {
        ffmpegPath: { type: ['string', 'null'], minLength: 1 },
        ffprobePath: { type: ['string', 'null'], minLength: 1 },
      },
    },
  },
} as const

export interface Config {
  station: { id: string; name: string; timezone: string }
  /** Absolute after loading. */
  dataDir: string
  listen: string
  log: { level: string }
  /** profilesDir is absolute after loading (the package's docking/ when null in the file). */
  docking: { profilesDir: string; defaultProfile: string }
  ingest: { chunkBytes: number; minFreeBytes: number; readBackVerify: boolean }
  media: { ffmpegPath: string | null; ffprobePath: string | null }
}
