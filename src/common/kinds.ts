/** What a file on a camera is: decided at ingest by its extension (src/camera/names.ts), stored with each recording. */
export type Kind = 'video' | 'audio' | 'photo' | 'sidecar'
