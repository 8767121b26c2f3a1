/**
 * The GPS track's drawing, pure (tested as a table in
 * test/web-clerks-present.test.ts): positions in degrees to an SVG box
 * scaled to their bounding box, north up, east right, a degree of
 * longitude shortened by the cosine of the latitude (so a walk north-east
 * looks north-east, not stretched), no map tiles.
 */

/** GET /v1/recordings/:id/track: [seconds from the start, latitude, longitude] per point. */
export interface Track {
  recordingId: number
  sidecarId: number
  sha256: string
  points: [number, number, number][]
  extent: { south: number; west: number; north: number; east: number }
}

export interface TrackDrawing {
  w: number
  h: number
  /** The SVG polyline's points: "x,y x,y ...", one per track point. */
  line: string
  start: [number, number]
  end: [number, number]
  /** The extent in metres, east-west and north-south. */
  widthM: number
  heightM: number
  /** Where the officer was `t` seconds into the recording (between two points: on the line between them). */
  at(t: number): [number, number]
}

const SIDE = 300
const PAD = 12
const MIN = 60
const METRES_PER_DEGREE = 111_320

export function trackDrawing(points: readonly (readonly [number, number, number])[]): TrackDrawing {
  let south = 90
  let north = -90
  let west = 180
  let east = -180
  for (const [, lat, lon] of points) {
    south = Math.min(south, lat)
    north = Math.max(north, lat)
    west = Math.min(west, lon)
    east = Math.max(east, lon)
  }
  const k = Math.cos((((south + north) / 2) * Math.PI) / 180)
  const dx = (east - west) * k
  const dy = north - south
  const s = Math.max(dx, dy) > 0 ? (SIDE - 2 * PAD) / Math.max(dx, dy) : 0
  const w = Math.max(MIN, dx * s + 2 * PAD)
  const h = Math.max(MIN, dy * s + 2 * PAD)
  const ox = (w - dx * s) / 2
  const oy = (h - dy * s) / 2
  const xy = (lat: number, lon: number): [number, number] => [round(ox + (lon - west) * k * s), round(oy + (north - lat) * s)]
  const drawn = points.map(([, lat, lon]) => xy(lat, lon))
  return {
    w: round(w),
    h: round(h),
    line: drawn.map(([x, y]) => `${x},${y}`).join(' '),
    start: drawn[0] ?? [w / 2, h / 2],
    end: drawn[drawn.length - 1] ?? [w / 2, h / 2],
    widthM: dx * METRES_PER_DEGREE,
    heightM: dy * METRES_PER_DEGREE,
    at(t: number): [number, number] {
      const first = points[0]
      if (!first || t <= first[0]) return drawn[0] ?? [w / 2, h / 2]
      for (let i = 1; i < points.length; i++) {
        const b = points[i]!
        if (t > b[0]) continue
        const a = points[i - 1]!
        const f = b[0] > a[0] ? (t - a[0]) / (b[0] - a[0]) : 1
        return xy(a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f)
      }
      return drawn[drawn.length - 1]!
    },
  }
}

const round = (v: number): number => Math.round(v * 10) / 10
