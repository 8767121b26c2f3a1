import { spawn } from 'node:child_process'
import { isAbsolute, resolve } from 'node:path'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { mapIdentity, parseUnlockOutput, type DockIdentity } from '../camera/identity.js'
import type { DockingProfile } from '../camera/profile.js'
import type { UsbDeviceInfo } from './usb.js'

export class UnlockError extends BodyvaultError {
  constructor(message: string) {
    super('DOCK_UNLOCK', message, 1)
    this.name = 'UnlockError'
  }
}

export const DEFAULT_UNLOCK_TIMEOUT_MS = 60_000

/** The values an unlock command gets, as {placeholders} in its arguments and as environment variables. */
export function unlockVars(device: UsbDeviceInfo, mountRoot: string, profileId: string): Record<string, string> {
  return {
    vendorId: device.vendorId,
    productId: device.productId,
    serial: device.serial ?? '',
    port: device.port,
    bus: String(device.bus),
    address: String(device.address),
    mountRoot,
    profile: profileId,
  }
}

/** argv with {placeholders} replaced; an unknown placeholder is left as written. Pure. */
export function unlockArgv(command: string[], vars: Record<string, string>): string[] {
  return command.map((a) => a.replace(/\{([A-Za-z]+)\}/g, (m, k: string) => (Object.hasOwn(vars, k) ? vars[k]! : m)))
}

/** A relative command path with a slash is relative to the package folder; a bare name is looked up on PATH. */
export function resolveCommand(cmd: string): string {
  if (isAbsolute(cmd) || !cmd.includes('/')) return cmd
  return resolve(packageRoot(), cmd)
}

export interface UnlockResult {
  identity: DockIdentity
  /** The identity record as the tool printed it. */
  record: unknown
  ms: number
}

/**
 * Runs a profile's unlock command for a plugged-in camera: it must make the
 * camera's volume appear and print its identity JSON, within the timeout.
 * The environment carries the device's identifiers (see UnlockHook).
 */
export async function runUnlock(
  profile: DockingProfile,
  device: UsbDeviceInfo,
  o: { mountRoot: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<UnlockResult> {
  const hook = profile.unlock
  if (!hook) throw new UnlockError(`docking profile ${profile.id} has no unlock command`)
  const vars = unlockVars(device, o.mountRoot, profile.id)
  const argv = unlockArgv(hook.command, vars)
  const cmd = resolveCommand(argv[0]!)
  const timeoutMs = hook.timeoutMs ?? DEFAULT_UNLOCK_TIMEOUT_MS
  const started = Date.now()
  const env: NodeJS.ProcessEnv = {
    ...(o.env ?? process.env),
    BODYVAULT_USB_VENDOR_ID: vars.vendorId,
    BODYVAULT_USB_PRODUCT_ID: vars.productId,
    BODYVAULT_USB_SERIAL: vars.serial,
    BODYVAULT_USB_PORT: vars.port,
    BODYVAULT_USB_BUS: vars.bus,
    BODYVAULT_USB_ADDRESS: vars.address,
    BODYVAULT_MOUNT_ROOT: vars.mountRoot,
    BODYVAULT_PROFILE: vars.profile,
  }
  const { code, signal, stdout, stderr, timedOut, aborted } = await new Promise<{
    code: number | null
    signal: NodeJS.Signals | null
    stdout: string
    stderr: string
    timedOut: boolean
    aborted: boolean
  }>((done, fail) => {
    // Spawn failures (no such file, not executable) arrive as the 'error' event below.
    // Its own process group, so a timeout or an unplug ends the tool and anything it started.
    const child = spawn(cmd, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outBytes = 0
    let timedOut = false
    let aborted = false
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length
      if (outBytes <= 1 << 20) out.push(b)
    })
    child.stderr.on('data', (b: Buffer) => {
      err.push(b)
      if (err.length > 64) err.shift()
    })
    const signalGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig)
      } catch {
        child.kill(sig)
      }
    }
    const kill = (): void => {
      signalGroup('SIGTERM')
      setTimeout(() => signalGroup('SIGKILL'), 2000).unref()
    }
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, timeoutMs)
    const onAbort = (): void => {
      aborted = true
      kill()
    }
    o.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (e) => {
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
      fail(new UnlockError(`cannot run the unlock command ${cmd} of profile ${profile.id}: ${errorMessage(e)} (check unlock.command in the profile)`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
      done({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, aborted })
    })
  })
  const tail = stderr.trim().split('\n').slice(-3).join(' | ')
  if (aborted) throw new UnlockError(`unlock of ${device.port} stopped: the camera was unplugged or the station is stopping`)
  if (timedOut)
    throw new UnlockError(
      `the unlock command ${cmd} did not finish within ${timeoutMs} ms (unlock.timeoutMs in profile ${profile.id}); unplug the camera and plug it in again`,
    )
  if (code !== 0)
    throw new UnlockError(
      `the unlock command ${cmd} failed (${signal ? `signal ${signal}` : `exit ${code}`})${tail ? `: ${tail}` : ''}; check the vendor tool and the camera, then plug it in again`,
    )
  const record = parseUnlockOutput(stdout)
  return { identity: mapIdentity(record, profile.identity), record, ms: Date.now() - started }
}
