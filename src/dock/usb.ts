import { existsSync, readFileSync } from 'node:fs'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'

/** A USB device as the dock sees it. */
export interface UsbDeviceInfo {
  /** 4 lower-case hex digits. */
  vendorId: string
  productId: string
  bus: number
  address: number
  /** Port path as sysfs names it ("1-1.2"): the same physical port gives the same path. */
  port: string
  /** iSerialNumber as sysfs reports it, when it does. */
  serial: string | null
}

export interface UsbHandlers {
  attach(d: UsbDeviceInfo): void
  detach(d: UsbDeviceInfo): void
}

/**
 * What the dock needs from USB: hotplug events and the current list. The
 * real one is `realUsbBackend()` over the `usb` package (libusb); tests on
 * hosts without a USB bus inject events through `FakeUsbBackend`.
 */
export interface UsbBackend {
  /** Why hotplug cannot work on this host, or undefined when it can. */
  probe(): Promise<string | undefined>
  start(h: UsbHandlers): Promise<void>
  stop(): void
  list(): UsbDeviceInfo[]
}

export const hex4 = (n: number): string => n.toString(16).padStart(4, '0')

function readSysfs(path: string): string | null {
  try {
    const v = readFileSync(path, 'utf8').trim()
    return v === '' ? null : v
  } catch {
    return null
  }
}

/** The fields of a `usb` Device the adapter reads (kept narrow so the adapter stays thin). */
interface LibusbDevice {
  busNumber: number
  deviceAddress: number
  portNumbers?: number[]
  deviceDescriptor: { idVendor: number; idProduct: number; bDeviceClass: number }
}

interface LibusbModule {
  INIT_ERROR?: number | boolean
  getDeviceList(): LibusbDevice[]
  on(ev: 'attach' | 'detach', fn: (d: LibusbDevice) => void): unknown
  off(ev: 'attach' | 'detach', fn: (d: LibusbDevice) => void): unknown
  unrefHotplugEvents?(): void
}

/**
 * The real adapter: `usb` v2 (libusb binaries ship in the package). A host
 * without a USB bus (a VM, CI) reports why in probe(); the daemon then runs
 * on mount discovery alone.
 */
export function realUsbBackend(opts: { sysRoot?: string } = {}): UsbBackend {
  const sysRoot = opts.sysRoot ?? '/sys'
  let lib: LibusbModule | undefined
  let handlers: { attach: (d: LibusbDevice) => void; detach: (d: LibusbDevice) => void } | undefined
  const known = new Map<string, UsbDeviceInfo>()

  const load = async (): Promise<LibusbModule> => {
    if (!lib) {
      // The package is CommonJS with `export =`; its `usb` export is the hotplug emitter.
      const mod = (await import('usb')) as unknown as { usb: LibusbModule }
      lib = mod.usb
    }
    return lib
  }
  const info = (d: LibusbDevice): UsbDeviceInfo => {
    const ports = d.portNumbers ?? []
    const port = ports.length ? `${d.busNumber}-${ports.join('.')}` : `usb${d.busNumber}`
    return {
      vendorId: hex4(d.deviceDescriptor.idVendor),
      productId: hex4(d.deviceDescriptor.idProduct),
      bus: d.busNumber,
      address: d.deviceAddress,
      port,
      serial: readSysfs(join(sysRoot, 'bus', 'usb', 'devices', port, 'serial')),
    }
  }
  const keyOf = (d: LibusbDevice): string => `${d.busNumber}:${d.deviceAddress}`

  return {
    async probe() {
      let m: LibusbModule
      try {
        m = await load()
      } catch (err) {
        return `the usb package could not load libusb: ${errorMessage(err)}`
      }
      if (m.INIT_ERROR) return 'libusb failed to initialise'
      if (process.platform === 'linux' && !existsSync(join(sysRoot, 'bus', 'usb'))) return `no USB bus on this host (${join(sysRoot, 'bus', 'usb')} is missing)`
      return undefined
    },
    async start(h) {
      const m = await load()
      if (handlers) return
      handlers = {
        attach: (d) => {
          let i: UsbDeviceInfo
          try {
            i = info(d)
          } catch {
            return
          }
          known.set(keyOf(d), i)
          h.attach(i)
        },
        detach: (d) => {
          const k = keyOf(d)
          let i = known.get(k)
          known.delete(k)
          if (!i) {
            try {
              i = info(d)
            } catch {
              return
            }
          }
          h.detach(i)
        },
      }
      m.on('attach', handlers.attach)
      m.on('detach', handlers.detach)
    },
    stop() {
      if (!lib || !handlers) return
      // Removing the last attach/detach listener stops libusb's hotplug thread (or its polling timer).
      lib.off('attach', handlers.attach)
      lib.off('detach', handlers.detach)
      handlers = undefined
    },
    list() {
      if (!lib) return []
      const out: UsbDeviceInfo[] = []
      for (const d of lib.getDeviceList()) {
        try {
          const i = info(d)
          known.set(keyOf(d), i)
          out.push(i)
        } catch {
          // a device that vanished while listed
        }
      }
      return out
    },
  }
}

/**
 * The one fake: a USB backend whose attach/detach events a test injects
 * (no USB bus exists on the test hosts). Everything after the event is real.
 */
export class FakeUsbBackend implements UsbBackend {
  private h: UsbHandlers | undefined
  private readonly devices = new Map<string, UsbDeviceInfo>()
  constructor(private readonly unavailableReason?: string) {}

  async probe(): Promise<string | undefined> {
    return this.unavailableReason
  }
  async start(h: UsbHandlers): Promise<void> {
    this.h = h
  }
  stop(): void {
    this.h = undefined
  }
  list(): UsbDeviceInfo[] {
    return [...this.devices.values()]
  }
  get started(): boolean {
    return this.h !== undefined
  }
  attach(d: Partial<UsbDeviceInfo> & Pick<UsbDeviceInfo, 'vendorId' | 'productId'>): UsbDeviceInfo {
    // Like the real adapter: ids as 4 lower-case hex digits.
    const full: UsbDeviceInfo = {
      bus: 1,
      address: this.devices.size + 2,
      port: `1-${this.devices.size + 1}`,
      serial: null,
      ...d,
      vendorId: d.vendorId.toLowerCase(),
      productId: d.productId.toLowerCase(),
    }
    this.devices.set(full.port, full)
    this.h?.attach(full)
    return full
  }
  detach(port: string): void {
    const d = this.devices.get(port)
    if (!d) return
    this.devices.delete(port)
    this.h?.detach(d)
  }
}

export interface UsbWatcherEvents {
  attach: [UsbDeviceInfo]
  detach: [UsbDeviceInfo]
}

/**
 * USB hotplug for the dock: emits attach for devices already plugged in at
 * start, then attach/detach as they come and go. Where the host has no USB
 * bus it logs that once and stays idle: the daemon runs on mount discovery.
 */
export class UsbWatcher extends EventEmitter<UsbWatcherEvents> {
  private running = false
  available = false
  reason: string | undefined

  constructor(
    private readonly backend: UsbBackend,
    private readonly logger: Logger,
  ) {
    super()
  }

  async start(): Promise<boolean> {
    if (this.running) return this.available
    this.running = true
    this.reason = await this.backend.probe()
    if (this.reason) {
      this.available = false
      this.logger.warn({ event: 'usb.unavailable', reason: this.reason }, 'USB hotplug unavailable: docking runs on mount discovery alone')
      return false
    }
    await this.backend.start({
      attach: (d) => {
        this.logger.info({ event: 'usb.attach', usb: d }, 'USB device attached')
        this.emit('attach', d)
      },
      detach: (d) => {
        this.logger.info({ event: 'usb.detach', usb: d }, 'USB device detached')
        this.emit('detach', d)
      },
    })
    this.available = true
    this.logger.info({ event: 'usb.watching' }, 'watching USB hotplug')
    for (const d of this.backend.list()) this.emit('attach', d)
    return true
  }

  stop(): void {
    if (!this.running) return
    this.running = false
    if (this.available) this.backend.stop()
  }
}
