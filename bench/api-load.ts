/**
 * The load generator of bench/api.ts, run as a second process (so that its
 * CPU is its own, and measured): reads its job as JSON on stdin, prints the
 * result as JSON on stdout.
 *
 * Open loop: request i is due at start + i / rate, whatever happened to the
 * ones before it, and its latency is measured from that due time. A closed
 * loop (send the next when the last one answered) waits out a stall and so
 * records one slow request where users saw many (coordinated omission). The
 * requests share `connections` keep-alive connections: a request due while
 * all of them are busy waits for one, and that wait is part of its latency.
 */
import { Agent, request } from 'node:http'

interface Job {
  base: string
  token: string
  paths: string[]
  rate: number
  seconds: number
  connections: number
  /** Seconds sent before the measured ones (warm-up: not counted). */
  warmup: number
}

let input = ''
for await (const c of process.stdin) input += String(c)
const job = JSON.parse(input) as Job
const url = new URL(job.base)
const agent = new Agent({ keepAlive: true, maxSockets: job.connections, maxFreeSockets: job.connections })
const headers = { authorization: `Bearer ${job.token}` }

const latencies: number[] = []
let non2xx = 0
let errors = 0
let late = 0
const send = (path: string, due: number, counted: boolean): Promise<void> =>
  new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, agent, headers }, (res) => {
      if (counted && (res.statusCode ?? 0) >= 300) non2xx++
      res.resume()
      res.on('end', () => {
        if (counted) latencies.push(performance.now() - due)
        resolve()
      })
    })
    req.on('error', () => {
      if (counted) errors++
      resolve()
    })
    req.end()
  })

const total = Math.round((job.warmup + job.seconds) * job.rate)
const warm = Math.round(job.warmup * job.rate)
const pending: Promise<void>[] = []
const cpu0 = process.cpuUsage()
const t0 = performance.now()
let measuredFrom = 0
for (let i = 0; i < total; i++) {
  const due = t0 + (i * 1000) / job.rate
  const wait = due - performance.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  // This process itself sent more than 2 ms after the due time (timers have about 1 ms of slack): counted, since it inflates the figures.
  if (performance.now() - due > 2) late++
  if (i === warm) measuredFrom = performance.now()
  pending.push(send(job.paths[i % job.paths.length]!, due, i >= warm))
}
await Promise.all(pending)
const elapsed = (performance.now() - measuredFrom) / 1000
const cpu = process.cpuUsage(cpu0)
agent.destroy()
latencies.sort((a, b) => a - b)
const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
process.stdout.write(
  JSON.stringify({
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: at(1),
    rps: latencies.length / elapsed,
    non2xx,
    errors,
    total: latencies.length,
    late,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - t0,
  }),
)
