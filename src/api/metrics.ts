import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Db } from '../catalog/db.js'
import { fixityBytesTotal } from '../catalog/fixity.js'
import { queueDepth, sessionsByState, stationGauges } from '../catalog/stats.js'
import type { FixityState } from '../fixity/state.js'

/**
 * The process's own figures (CPU, memory, event-loop delay, garbage
 * collection pauses), once per process however many API instances it runs:
 * each collection starts a delay monitor and a GC observer that live as long
 * as the process. The event-loop delay percentiles are since the last scrape.
 */
let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/** Prometheus metrics for one API instance (its own registry) and its process. */
export class Metrics {
  private registry = new Registry()
  private latency: Histogram
  private requests: Counter
  /** The station gauges of the scrape in progress (read once per render). */
  private station: ReturnType<typeof stationGauges> | undefined

  constructor(db: Db, fixityState?: () => FixityState) {
    processMetrics()
    const r = this.registry
    this.latency = new Histogram({
      name: 'bodyvault_http_request_duration_seconds',
      help: 'API request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [r],
    })
    this.requests = new Counter({ name: 'bodyvault_http_requests_total', help: 'API requests', labelNames: ['method', 'route', 'status'], registers: [r] })
    // One query for the three station gauges per scrape (it counts the recordings: at a million rows, a few milliseconds the event loop waits).
    const gauges = (): ReturnType<typeof stationGauges> => {
      this.station ??= stationGauges(db)
      return this.station
    }
    const gauge = (name: string, help: string, pick: (g: ReturnType<typeof stationGauges>) => number): void => {
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(pick(gauges()))
        },
      })
    }
    gauge('bodyvault_ingest_bytes_total', 'Bytes ingested into the vault (all sessions)', (g) => g.ingestBytes)
    gauge('bodyvault_recordings', 'Recordings in the catalog', (g) => g.recordings)
    gauge('bodyvault_ledger_events', 'Events in the ledger', (g) => g.ledgerEvents)
    new Gauge({
      name: 'bodyvault_ingest_sessions',
      help: 'Ingest sessions by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.reset()
        for (const row of sessionsByState(db)) this.set({ state: row.state }, row.n)
      },
    })
    new Gauge({
      name: 'bodyvault_queue_depth',
      help: 'Queued work by queue and state (media jobs by state; offload operations queued or retrying)',
      labelNames: ['queue', 'state'],
      registers: [r],
      collect() {
        this.reset()
        for (const row of queueDepth(db)) this.set({ queue: row.queue, state: row.state }, row.n)
      },
    })
    if (fixityState) {
      new Gauge({
        name: 'bodyvault_fixity_objects',
        help: 'Vault objects by fixity state: all, remote (evicted to S3), never_checked, due, overdue (past fixity.cycleDays), failed (bad copy not repaired)',
        labelNames: ['state'],
        registers: [r],
        collect() {
          const s = fixityState()
          for (const [state, n] of Object.entries({
            all: s.objects,
            remote: s.remote,
            never_checked: s.neverChecked,
            due: s.due,
            overdue: s.overdue,
            failed: s.failed,
          }))
            this.set({ state }, n)
        },
      })
      new Gauge({
        name: 'bodyvault_fixity_last_full_cycle_timestamp_seconds',
        help: 'Every local object has been re-hashed since this time (0: some never were)',
        registers: [r],
        collect() {
          const at = fixityState().lastFullCycle
          this.set(at ? Date.parse(at) / 1000 : 0)
        },
      })
      new Gauge({
        name: 'bodyvault_fixity_last_run_timestamp_seconds',
        help: 'When the last fixity run ended (0: never)',
        registers: [r],
        collect() {
          const at = fixityState().lastRun?.endedAt
          this.set(at ? Date.parse(at) / 1000 : 0)
        },
      })
      new Gauge({
        name: 'bodyvault_fixity_read_bytes_total',
        help: 'Bytes the fixity job has re-hashed, all runs',
        registers: [r],
        collect() {
          this.set(fixityBytesTotal(db))
        },
      })
    }
  }

  get contentType(): string {
    return this.registry.contentType
  }

  async render(): Promise<string> {
    this.station = undefined
    return (await this.registry.metrics()) + (await processMetrics().metrics())
  }

  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (req, reply) => {
      const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }
      this.requests.inc(labels)
      this.latency.observe(labels, reply.elapsedTime / 1000)
    })
  }
}
