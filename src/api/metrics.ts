import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Db } from '../catalog/db.js'

/** Prometheus metrics for one API instance (its own registry). */
export class Metrics {
  private registry = new Registry()
  private latency: Histogram
  private requests: Counter

  constructor(db: Db) {
    const r = this.registry
    this.latency = new Histogram({
      name: 'bodyvault_http_request_duration_seconds',
      help: 'API request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [r],
    })
    this.requests = new Counter({ name: 'bodyvault_http_requests_total', help: 'API requests', labelNames: ['method', 'route', 'status'], registers: [r] })
    const scalar = (name: string, help: string, sql: string): void => {
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(Number((db.prepare(sql).get() as { v: number | null }).v ?? 0))
        },
      })
    }
    scalar('bodyvault_ingest_bytes_total', 'Bytes ingested into the vault (all sessions)', 'SELECT sum(bytes_ingested) AS v FROM ingest_sessions')
    scalar('bodyvault_recordings', 'Recordings in the catalog', 'SELECT count(*) AS v FROM recordings')
    scalar('bodyvault_ledger_events', 'Events in the ledger', 'SELECT coalesce(max(seq), 0) AS v FROM events')
    new Gauge({
      name: 'bodyvault_ingest_sessions',
      help: 'Ingest sessions by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.reset()
        for (const row of db.prepare('SELECT state, count(*) AS n FROM ingest_sessions GROUP BY state').all() as { state: string; n: number }[])
          this.set({ state: row.state }, row.n)
      },
    })
    new Gauge({
      name: 'bodyvault_queue_depth',
      help: 'Queued work by queue and state (media jobs, uploads)',
      labelNames: ['queue', 'state'],
      registers: [r],
      collect() {
        this.reset()
        for (const [queue, table] of [
          ['media', 'media_jobs'],
          ['offload', 'offload_queue'],
        ] as const) {
          // Only queues that exist in this catalog and keep a state column.
          const cols = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]
          if (!cols.some((c) => c.name === 'state')) continue
          for (const row of db.prepare(`SELECT state, count(*) AS n FROM ${table} GROUP BY state`).all() as { state: string; n: number }[])
            this.set({ queue, state: row.state }, row.n)
        }
      },
    })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }

  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (req, reply) => {
      const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }
      this.requests.inc(labels)
      this.latency.observe(labels, reply.elapsedTime / 1000)
    })
  }
}
