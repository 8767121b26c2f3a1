/** The load generator of bench/api.ts, run as a second process: reads its job as JSON on stdin, prints the result as JSON. */
import autocannon from 'autocannon'

let input = ''
for await (const c of process.stdin) input += String(c)
const job = JSON.parse(input) as { base: string; token: string; paths: string[]; rate: number; seconds: number; connections: number }
let i = 0
const result = await autocannon({
  url: job.base,
  connections: job.connections,
  overallRate: job.rate,
  duration: job.seconds,
  headers: { authorization: `Bearer ${job.token}` },
  requests: [{ setupRequest: (req) => ({ ...req, path: job.paths[i++ % job.paths.length]! }) }],
})
process.stdout.write(
  JSON.stringify({
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    rps: result.requests.average,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  }),
)
