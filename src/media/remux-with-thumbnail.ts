/**
 * A remuxed video proxy and its thumbnail in ONE ffmpeg run (issue 16: an
 * ffmpeg process costs 60-110 ms just to start here, most of a remux's or a
 * thumbnail's wall time). The proxy job carries the thumbnail job and
 * claims it with it (src/catalog/media-jobs.ts claimNextJob); both rows
 * stay `running` under that one claim until ONE transaction records both
 * derivatives and marks both done, so a kill at any moment leaves both
 * jobs to the restart (recovery requeues each, and they are claimed
 * together again), never one half recorded. A failed run hands the
 * thumbnail back to its own job and the proxy is made alone: a thumbnail
 * problem never costs the proxy.
 */
import { rm } from 'node:fs/promises'
import { getDerivative } from '../catalog/derivatives.js'
import { getMediaInfoRow } from '../catalog/media-info.js'
import { getJob, noteJobProcess, releaseCarried, type MediaJob } from '../catalog/media-jobs.js'
import type { Recording } from '../catalog/recordings.js'
import { remuxWithThumbnailArgs } from './args.js'
import { FfmpegError, runFfmpeg, type RunFfmpegOptions } from './ffmpeg.js'
import type { JobRunnerOptions, Run } from './job-runner.js'
import { recordDerivative, stagingTemp, storeOutput } from './keep-derivative.js'
import { describeFailure, proxyCarries, proxyKindFor, recordedArgs, runTimeoutMs, thumbnailSeek } from './policy.js'
import { proxyPlan, type ProxyPlan } from './proxy-policy.js'

/** What the combined run uses of the job runner (./job-runner.ts). */
export interface RunnerKit {
  readonly o: JobRunnerOptions
  /** Runs `write` and marks the job (and `carried`) done in one transaction while this worker holds their claims. */
  commit<T>(job: MediaJob, write: () => T, result: string | ((v: T) => string), carried?: { job: MediaJob; result: (v: T) => string }): string
  original(rec: Recording, signal: AbortSignal): Promise<string>
  version(tool: 'ffmpeg' | 'ffprobe'): Promise<string | null>
  runOpts(signal: AbortSignal, timeoutMs: number, job?: MediaJob): RunFfmpegOptions
}

/**
 * A remuxed proxy and its thumbnail in one ffmpeg run, for a proxy job
 * that carries (and was claimed with) its recording's thumbnail job. Each
 * output is stored and recorded as its own derivative (its own event with
 * the argument list that ran, the other output named `{proxy}` or
 * `{thumbnail}`), both in ONE transaction that marks both jobs done.
 * `failed` (null: nothing to make in one run, e.g. no remux now or a
 * derivative already there; else why the run failed), with the thumbnail
 * job handed back to the queue on its own: the caller makes the proxy alone.
 */
export async function remuxWithThumbnail(k: RunnerKit, run: Run, rec: Recording): Promise<{ proxy: string; thumbnail: string } | { failed: string | null }> {
  const { job, signal } = run
  const carried = job.carried!
  const info = rec.status === 'stored' && job.kind === 'proxy' && carried.kind === 'thumbnail' ? getMediaInfoRow(k.o.db, rec.id) : undefined
  const kind = info ? proxyKindFor({ hasVideo: info.videoCodec !== null, hasAudio: info.audioCodec !== null, mediaKind: info.mediaKind }) : null
  const plan: ProxyPlan | undefined = info && kind ? proxyPlan(kind, info, k.o.settings.proxy) : undefined
  if (
    !info ||
    !plan ||
    proxyCarries(kind, plan.method) !== 'thumbnail' ||
    getDerivative(k.o.db, rec.id, 'proxy') ||
    getDerivative(k.o.db, rec.id, 'thumbnail')
  ) {
    releaseCarried(k.o.db, job, new Date())
    return { failed: null }
  }
  const s = k.o.settings
  const input = await k.original(rec, signal)
  const proxyTemp = stagingTemp(k.o.vault, job.id)
  const thumbTemp = stagingTemp(k.o.vault, carried.id)
  const ct = info.createdUtc ? { creationTime: info.createdUtc } : {}
  const spec = remuxWithThumbnailArgs(input, proxyTemp, thumbTemp, {
    hasAudio: info.audioCodec !== null,
    width: s.thumbnailWidth,
    atSeconds: thumbnailSeek(info.durationSec),
    ...ct,
  })
  const ffmpegVersion = await k.version('ffmpeg')
  const timeoutMs = runTimeoutMs('proxy', s.timeoutSeconds, info.durationSec) + runTimeoutMs('thumbnail', s.timeoutSeconds, null)
  // Each row names its own temp file and the one ffmpeg: recovery after a kill treats them alike.
  noteJobProcess(k.o.db, [
    { id: job.id, tempPath: proxyTemp },
    { id: carried.id, tempPath: thumbTemp },
  ])
  const opts: RunFfmpegOptions = {
    ...k.runOpts(signal, timeoutMs),
    onSpawn: (pid) =>
      noteJobProcess(k.o.db, [
        { id: job.id, ffmpegPid: pid },
        { id: carried.id, ffmpegPid: pid },
      ]),
  }
  try {
    try {
      run.ffmpegMs += (await runFfmpeg(spec, opts)).durationMs
    } catch (err) {
      // Only the outputs could be at fault (a thumbnail's seek, the muxer):
      // the proxy must not wait for a thumbnail problem. A stop, or ffmpeg
      // missing, ends the job as any other would.
      if (!(err instanceof FfmpegError) || err.code === 'FFMPEG_ABORTED' || err.code === 'FFMPEG_NOT_FOUND' || signal.aborted) throw err
      releaseCarried(k.o.db, job, new Date())
      return { failed: describeFailure(err, 300) }
    }
    const chunk = k.o.chunkBytes ?? 4 << 20
    const [hp, ht] = await Promise.all([
      storeOutput(k.o.vault, proxyTemp, chunk, () => signal.aborted),
      storeOutput(k.o.vault, thumbTemp, chunk, () => signal.aborted),
    ])
    const base = { actor: k.o.actor, rec, ffmpegVersion }
    const proxy = k.commit(
      job,
      () => ({
        proxy: recordDerivative(k.o.db, {
          ...base,
          kind: 'proxy',
          h: hp,
          args: recordedArgs(spec.args, input, proxyTemp, { [thumbTemp]: 'thumbnail' }),
          proxy: plan,
        }),
        thumbnail: recordDerivative(k.o.db, {
          ...base,
          kind: 'thumbnail',
          h: ht,
          args: recordedArgs(spec.args, input, thumbTemp, { [proxyTemp]: 'proxy' }),
        }),
      }),
      (v) => `derivative:${v.proxy}`,
      { job: carried, result: (v) => `derivative:${v.thumbnail} (made in one run with the proxy, job ${job.id})` },
    )
    return { proxy, thumbnail: getJob(k.o.db, carried.id)?.result ?? '' }
  } finally {
    await Promise.all([rm(proxyTemp, { force: true }), rm(thumbTemp, { force: true })])
  }
}
