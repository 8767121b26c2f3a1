import { describeFailure } from './policy.js'
import { ENCODER_KINDS, encoderArgs, testEncodeArgs, type EncoderKind } from './encoders.js'
import { runFfmpeg } from './ffmpeg.js'

export interface EncoderTest {
  kind: EncoderKind
  /** ffmpeg's encoder name, e.g. h264_vaapi. */
  name: string
  ok: boolean
  /** Why it failed (ffmpeg's reason), or how long the one-second encode took. */
  detail: string
}

/** doctor: a one-second test encode on each encoder (software, VAAPI, Quick Sync, NVENC), one after the other. */
export async function testEncoders(o: { device: string | null; ffmpegPath?: string; timeoutMs?: number }): Promise<EncoderTest[]> {
  const out: EncoderTest[] = []
  for (const kind of ENCODER_KINDS) {
    // One `device` setting names a render node (VAAPI, Quick Sync) or a GPU index (NVENC): each encoder gets it only in its own form.
    const device = kind === 'nvenc' ? (/^\d+$/.test(o.device ?? '') ? o.device : null) : o.device?.startsWith('/') ? o.device : null
    const name = encoderArgs(kind, { device, preset: 'veryfast', crf: 28 }).name
    try {
      const r = await runFfmpeg(testEncodeArgs(kind, device), { timeoutMs: o.timeoutMs ?? 20_000, ...(o.ffmpegPath ? { ffmpegPath: o.ffmpegPath } : {}) })
      out.push({ kind, name, ok: true, detail: `1 s of 720p in ${(r.durationMs / 1000).toFixed(2)} s` })
    } catch (err) {
      out.push({ kind, name, ok: false, detail: describeFailure(err, 200).replace(/\s+/g, ' ') })
    }
  }
  return out
}
