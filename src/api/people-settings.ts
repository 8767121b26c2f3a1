/**
 * The `people` section of the configuration (optional; these are the
 * defaults): the password policy, sessions, the sign-in lockout, the
 * window of the counted failures, and how many downloads one export
 * approval allows.
 */
export interface PeopleSettings {
  password: { minLength: number }
  session: { idleMinutes: number; absoluteHours: number }
  /** Exponential lockout: after `afterFailures` failures in a row, refused for baseSeconds * 2^(failures - afterFailures), at most maxSeconds. */
  lockout: { afterFailures: number; addressAfterFailures: number; baseSeconds: number; maxSeconds: number }
  /** Failed sign-ins are written to the ledger as one counted event per window. */
  failureWindowMinutes: number
  exportDownloadsPerApproval: number
}

export const PEOPLE_DEFAULTS: PeopleSettings = {
  password: { minLength: 12 },
  session: { idleMinutes: 30, absoluteHours: 12 },
  lockout: { afterFailures: 5, addressAfterFailures: 20, baseSeconds: 2, maxSeconds: 900 },
  failureWindowMinutes: 15,
  exportDownloadsPerApproval: 1,
}

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const
const section = <P extends Record<string, unknown>>(properties: P) => ({ type: 'object', additionalProperties: false, properties }) as const

export const peopleConfigSchema = section({
  password: section({ minLength: int(8, 128) }),
  session: section({ idleMinutes: int(1, 24 * 60), absoluteHours: int(1, 24 * 7) }),
  lockout: section({ afterFailures: int(1, 100), addressAfterFailures: int(1, 10000), baseSeconds: int(1, 3600), maxSeconds: int(1, 86400) }),
  failureWindowMinutes: int(1, 24 * 60),
  exportDownloadsPerApproval: int(1, 100),
})

type Deep<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] }
export type PeopleConfigFile = Deep<PeopleSettings>

/** The settings with the defaults filled in. */
export function peopleSettings(file: PeopleConfigFile | undefined): PeopleSettings {
  const f = file ?? {}
  return {
    password: { ...PEOPLE_DEFAULTS.password, ...f.password },
    session: { ...PEOPLE_DEFAULTS.session, ...f.session },
    lockout: { ...PEOPLE_DEFAULTS.lockout, ...f.lockout },
    failureWindowMinutes: f.failureWindowMinutes ?? PEOPLE_DEFAULTS.failureWindowMinutes,
    exportDownloadsPerApproval: f.exportDownloadsPerApproval ?? PEOPLE_DEFAULTS.exportDownloadsPerApproval,
  }
}
