/**
 * The H.264 encoder of a transcoded proxy, as data: libx264 in software, or
 * a station's hardware encoder through ffmpeg's own options (VAAPI and Quick
 * Sync on Intel iGPUs, NVENC on NVIDIA). Pure: the argv pieces only; the
 * job runner (./job-runner.ts) tries the configured encoder and falls back
 * to software when it fails, recording both in the `derived` event.
 *
 * Verified on real hardware: none yet (the machines this was built on have
 * no GPU). Tests run the selection and the fallback with a configured render
 * node that does not exist, so the hardware run really fails.
 *
 * Scaling stays in software (the same filter as libx264's), then the frames
 * are uploaded: slower than a GPU scaler, but one filter for every encoder,
 * and the encode, the costly part, is on the GPU.
 */

export type EncoderKind = 'software' | 'vaapi' | 'qsv' | 'nvenc'
export const ENCODER_KINDS: readonly EncoderKind[] = ['software', 'vaapi', 'qsv', 'nvenc']

/** `media.proxy.encoder` and `media.proxy.device`. */
export interface EncoderSettings {
  encoder: EncoderKind
  /** The DRM render node for VAAPI and Quick Sync (null: /dev/dri/renderD128); the GPU index for NVENC (null: 0). */
  device: string | null
}

export const DEFAULT_RENDER_NODE = '/dev/dri/renderD128'

/** The encoder's parts of a proxy's argv: before the input, the filter chain's tail, the codec options. */
export interface EncoderArgs {
  /** ffmpeg's name of the encoder, e.g. h264_vaapi. */
  name: string
  beforeInput: string[]
  /** Appended to the scale filter (the upload to the device). */
  filterTail: string
  codec: string[]
}

/** The argv pieces of `kind` at quality `crf` (libx264's CRF; the hardware encoders' constant-quality value). */
export function encoderArgs(kind: EncoderKind, o: { device: string | null; preset: string; crf: number }): EncoderArgs {
  const q = String(o.crf)
  switch (kind) {
    case 'software':
      return { name: 'libx264', beforeInput: [], filterTail: '', codec: ['-c:v', 'libx264', '-preset', o.preset, '-crf', q] }
    case 'vaapi':
      return {
        name: 'h264_vaapi',
        beforeInput: ['-vaapi_device', o.device ?? DEFAULT_RENDER_NODE],
        filterTail: ',format=nv12,hwupload',
        codec: ['-c:v', 'h264_vaapi', '-qp', q],
      }
    case 'qsv':
      return {
        name: 'h264_qsv',
        beforeInput: ['-init_hw_device', `vaapi=va:${o.device ?? DEFAULT_RENDER_NODE}`, '-init_hw_device', 'qsv=hw@va', '-filter_hw_device', 'hw'],
        filterTail: ',format=nv12,hwupload=extra_hw_frames=64',
        codec: ['-c:v', 'h264_qsv', '-global_quality', q],
      }
    case 'nvenc':
      return {
        name: 'h264_nvenc',
        beforeInput: [],
        filterTail: '',
        codec: ['-c:v', 'h264_nvenc', '-gpu', o.device ?? '0', '-preset', 'p4', '-rc', 'vbr', '-cq', q, '-b:v', '0'],
      }
  }
}

/** JSON schema of `media.proxy.encoder` and `.device` (merged into proxySettingsSchema). */
export const encoderSettingsSchema = {
  encoder: { enum: ENCODER_KINDS },
  // A path or an index only: the value goes into ffmpeg's device strings (`vaapi=va:<device>`), where `:` `,` `=` mean something.
  device: { type: ['string', 'null'], pattern: '^[A-Za-z0-9/._][A-Za-z0-9/._-]{0,199}$' },
} as const

/**
 * One second of a generated 720p picture through `kind` into the null
 * muxer: whether the encoder works on this station (doctor runs it for each).
 */
export function testEncodeArgs(kind: EncoderKind, device: string | null): { cmd: 'ffmpeg'; args: string[] } {
  const e = encoderArgs(kind, { device, preset: 'veryfast', crf: 28 })
  return {
    cmd: 'ffmpeg',
    args: [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-nostats', '-y'],
      ...e.beforeInput,
      ...['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=30:d=1'],
      ...['-vf', `format=yuv420p${e.filterTail}`],
      ...e.codec,
      ...['-f', 'null', '-'],
    ],
  }
}
