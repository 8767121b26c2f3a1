/**
 * The media tables' stores are src/catalog/media-jobs.ts, media-info.ts and
 * derivatives.ts. This module only keeps src/api's import path working until
 * the API imports them from there (nothing else imports it).
 */
export { derivativesOf, getDerivative } from '../catalog/derivatives.js'
export { getMediaInfo } from '../catalog/media-info.js'
