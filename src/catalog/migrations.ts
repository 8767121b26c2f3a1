import type { Migration } from './migrations/migration.js'
import { foundation } from './migrations/001-foundation.js'
import { media } from './migrations/002-media.js'
import { retention } from './migrations/003-retention.js'
import { docking } from './migrations/004-docking.js'
import { checkpoints } from './migrations/005-checkpoints.js'
import { api } from './migrations/006-api.js'
import { ingestTruth } from './migrations/007-ingest-truth.js'
import { kiosk } from './migrations/009-kiosk.js'
import { anchors } from './migrations/011-anchors.js'
import { fixity } from './migrations/012-fixity.js'
import { registry } from './migrations/015-registry.js'
import { people } from './migrations/016-people.js'
import { compliance } from './migrations/019-compliance.js'
import { dockPins } from './migrations/018-dock-pins.js'
import { markers } from './migrations/020-markers.js'
import { secondFactor } from './migrations/021-second-factor.js'
import { noticeOutbox } from './migrations/022-notice-outbox.js'
import { mediaJobRank } from './migrations/023-media-job-rank.js'
import { mediaJobCarries } from './migrations/024-media-job-carries.js'

/**
 * Versioned catalog migrations, one file each under migrations/. Each runs
 * once, in order, inside a transaction; PRAGMA user_version records how far
 * a database has come. Never edit a released migration: add a new file and
 * list it here, in version order.
 */
export const migrations: readonly Migration[] = [
  foundation,
  media,
  retention,
  docking,
  checkpoints,
  api,
  ingestTruth,
  kiosk,
  anchors,
  fixity,
  registry,
  people,
  dockPins,
  compliance,
  markers,
  secondFactor,
  noticeOutbox,
  mediaJobRank,
  mediaJobCarries,
]

export type { Migration }
