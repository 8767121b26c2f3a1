/**
 * A remuxed proxy's `moov` written in place at the front (issue 16), pure.
 *
 * `+faststart` writes the MP4 with its index (`moov`) at the end, then reads
 * the whole file back and writes it again shifted, to put `moov` first: a
 * second pass over a clip-sized file. ffmpeg's mov muxer can instead reserve
 * space after `ftyp` (`-moov_size N`), write the samples after it and the
 * index into it at the end, the rest of the space a `free` box: moov first,
 * one pass. ffmpeg 5.1's documented failure mode is the danger: when the
 * index does not fit, it still writes it at the reserved place (over the
 * start of the samples), logs "reserved_moov_size is too small", and its
 * exit code stays 0 (only `-xerror` turns that into a failure). So:
 *   moovReserve   sizes the space from the probe's facts with every sample
 *                 table at its largest (null: facts missing, or a reserve too
 *                 large to be worth it: use `+faststart`);
 *   moovInPlace   checks the written file's head: `ftyp`, then `moov` that
 *                 ends inside the reserve, then the `free` box that fills the
 *                 reserve to its end. Anything else (the index did not fit)
 *                 means the caller throws the file away and runs again with
 *                 `+faststart`.
 */

/**
 * Bytes of `moov` per sample at most, one chunk per sample and no run of
 * equal entries: stts 8 + ctts 8 + stss 4 + stsz 4 + co64 8 + stsc 12.
 * A real clip's index is smaller (the bench's 105 s clip: 92,350 bytes for
 * 8,072 samples, 11.4 a sample).
 */
export const MOOV_BYTES_PER_SAMPLE = 44
/** The boxes that do not grow with the samples (mvhd, trak headers, edit lists, avcC, the creation time) with room to spare. */
export const MOOV_FIXED_BYTES = 16 * 1024
/** Frame rate and duration are the probe's view: a quarter more samples than they imply. */
export const MOOV_SAMPLE_MARGIN = 1.25
/** Above this (about 2 h of 1080p30 with audio), `+faststart`: no file carries megabytes of padding. */
export const MOOV_RESERVE_MAX = 8 << 20
/** Samples of audio per AAC frame (AAC-LC; HE-AAC's container frames hold 2048, so fewer samples). */
const AAC_FRAME = 1024

export interface MoovFacts {
  durationSec: number | null
  fps: number | null
  /** null when the clip has no audio stream */
  audioSampleRate: number | null
  hasAudio: boolean
}

const positive = (x: number | null): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0

/** The `-moov_size` for a remux of a clip with these facts, or null (unknown facts, too large): `+faststart`. */
export function moovReserve(f: MoovFacts): number | null {
  if (!positive(f.durationSec) || !positive(f.fps)) return null
  let samples = f.durationSec * f.fps
  if (f.hasAudio) {
    if (!positive(f.audioSampleRate)) return null
    samples += (f.durationSec * f.audioSampleRate) / AAC_FRAME
  }
  const bytes = MOOV_FIXED_BYTES + Math.ceil(samples * MOOV_SAMPLE_MARGIN) * MOOV_BYTES_PER_SAMPLE
  return bytes <= MOOV_RESERVE_MAX ? bytes : null
}

/** moovReserve of a probed clip (its `media_info` row) remuxed into a video proxy. */
export function proxyMoovReserve(info: {
  durationSec: number | null
  fps: number | null
  sampleRate: number | null
  audioCodec: string | null
}): number | null {
  const hasAudio = info.audioCodec !== null
  return moovReserve({ durationSec: info.durationSec, fps: info.fps, audioSampleRate: hasAudio ? info.sampleRate : null, hasAudio })
}

/** How many bytes of the output's head moovInPlace needs to see. */
export function moovHeadBytes(reserve: number): number {
  // ftyp (ffmpeg's is 32 bytes; brands could make it longer) + the reserve + a box header after it.
  return 4096 + reserve + 16
}

function box(head: Uint8Array, at: number): { type: string; size: number } | null {
  if (at + 8 > head.length) return null
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const size = v.getUint32(at)
  const type = String.fromCharCode(head[at + 4]!, head[at + 5]!, head[at + 6]!, head[at + 7]!)
  // A 64-bit or to-the-end size never occurs for these boxes in a good file.
  return size >= 8 ? { type, size } : null
}

/**
 * Whether an MP4 written with `-moov_size reserve` has its index in place:
 * `ftyp`, then `moov` ending within the reserve, then a `free` box ending
 * exactly where the reserve ends (which is where ffmpeg put the samples).
 * `head` is the file's first moovHeadBytes(reserve) bytes (fewer if the file
 * is shorter). False for everything else: an index that overflowed the
 * reserve has its end (and no `free` box) past it.
 */
export function moovInPlace(head: Uint8Array, reserve: number): boolean {
  const ftyp = box(head, 0)
  if (ftyp?.type !== 'ftyp') return false
  const start = ftyp.size
  const moov = box(head, start)
  if (moov?.type !== 'moov' || moov.size + 8 > reserve) return false
  const free = box(head, start + moov.size)
  return free !== null && free.type === 'free' && start + moov.size + free.size === start + reserve
}
