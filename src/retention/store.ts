/**
 * Cases, links, categories and holds are changed in ./actions.ts, deadlines
 * kept in ./deadlines.ts, and the tables read through src/catalog/cases.ts.
 * This module only keeps src/api's import path working until the API
 * imports them from there (nothing else imports it).
 */
export { casesOf, getCase, getHold, holdsOf, listCases, listHolds, recordingsOfCase } from '../catalog/cases.js'
export { closeCase, createCase, linkRecordings, placeHold, releaseHold, reopenCase, setCategory, unlinkRecording } from './actions.js'
export { decide, type Ctx } from './deadlines.js'
