/**
 * The load generator of bench/fixity.ts, run as a second process: downloads
 * the given URLs in turn for `seconds` (one connection at a time, bodies
 * discarded), then prints bytes, wall time and its own CPU as JSON.
 */
import { request } from 'node:http'

let input = ''
for await (const c of process.stdin) input += String(c)
const job = JSON.parse(input) as { urls: string[]; token: string; seconds: number }

function download(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${job.token}` } }, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => {
        n += c.length
      })
      res.on('end', () => (res.statusCode === 200 && res.complete ? resolve(n) : reject(new Error(`HTTP ${res.statusCode}, ${n} bytes`))))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const cpu0 = process.cpuUsage()
const t0 = performance.now()
let bytes = 0
let requests = 0
for (let i = 0; performance.now() - t0 < job.seconds * 1000; i++) {
  bytes += await download(job.urls[i % job.urls.length]!)
  requests++
}
const ms = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
process.stdout.write(JSON.stringify({ bytes, ms, requests, cpuMs: (cpu.user + cpu.system) / 1000 }))
