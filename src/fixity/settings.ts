/** The `fixity` section of the configuration (config/default.json): how often every object is re-hashed, at what I/O cost, and where good copies are. */
export interface FixitySettings {
  /** Every local object is re-hashed at least once in this many days. */
  cycleDays: number
  /** The daemon starts a run this often (a run checks only what is due). */
  everyMinutes: number
  /** Reading budget of a scheduled run, in MB/s (10^6 bytes); 0: no limit. */
  budgetMBps: number
  /** Absolute paths of other data dirs (a backup, a mirror) whose objects/ may hold a good copy, tried before S3. */
  repairFrom: string[]
}

export const fixityConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cycleDays', 'everyMinutes', 'budgetMBps', 'repairFrom'],
  properties: {
    cycleDays: { type: 'integer', minimum: 1, maximum: 3650 },
    everyMinutes: { type: 'integer', minimum: 1, maximum: 10080 },
    budgetMBps: { type: 'number', minimum: 0, maximum: 100000 },
    repairFrom: { type: 'array', items: { type: 'string', pattern: '^/' }, maxItems: 16 },
  },
} as const
