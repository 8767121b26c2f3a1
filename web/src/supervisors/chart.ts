import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js'

// Chart.js, only the parts the dashboard draws (tree-shaken; this module loads only on /dashboard).
Chart.register(BarController, BarElement, CategoryScale, LinearScale, DoughnutController, ArcElement, Legend, Tooltip)
Chart.defaults.color = '#cbd5e1'
Chart.defaults.borderColor = '#3b4a66'
Chart.defaults.font.family = '"Noto Sans CJK SC", "Noto Sans SC", system-ui, sans-serif'
Chart.defaults.maintainAspectRatio = false
Chart.defaults.animation = false

/** Series colours on the dark surface (each at least 3:1 against it). */
export const COLOURS = ['#60a5fa', '#f59e0b', '#34d399', '#f472b6', '#a78bfa', '#fb7185', '#facc15', '#38bdf8', '#4ade80', '#e879f9']

declare global {
  interface Window {
    /** The dashboard's charts by name: what they draw is readable from the page (the browser tests compare it with the API's figures). */
    bodyvaultCharts?: Record<string, Chart>
  }
}

/**
 * A Svelte action: draws `config` on the canvas as chart `name`, and draws
 * it again when the config changes. `onBar(datasetIndex, index)` is called
 * when a bar or slice is clicked (the page follows it to the recordings).
 */
export function chart(
  canvas: HTMLCanvasElement,
  p: { name: string; config: ChartConfiguration; onBar?: (dataset: number, index: number) => void },
): { update(p2: typeof p): void; destroy(): void } {
  let c: Chart | undefined
  const draw = (q: typeof p) => {
    c?.destroy()
    const config = { ...q.config, options: { ...q.config.options } } as ChartConfiguration
    if (q.onBar) {
      const go = q.onBar
      config.options!.onClick = (_e, els) => {
        const el = els[0]
        if (el) go(el.datasetIndex, el.index)
      }
      config.options!.onHover = (e, els) => {
        const target = e.native?.target as HTMLElement | undefined
        if (target) target.style.cursor = els.length ? 'pointer' : 'default'
      }
    }
    c = new Chart(canvas, config)
    window.bodyvaultCharts = { ...window.bodyvaultCharts, [q.name]: c }
  }
  draw(p)
  return {
    update: draw,
    destroy: () => {
      c?.destroy()
      if (window.bodyvaultCharts) delete window.bodyvaultCharts[p.name]
    },
  }
}
