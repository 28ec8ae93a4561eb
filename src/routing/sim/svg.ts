/** Dependency-free SVG line charts for `swarmd sim --chart` and docs/img. */
export interface Series {
  name: string
  points: [number, number | null][]
}

export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  /** Logarithmic y axis. */
  logY?: boolean
  /** Clip y at this value (the curve leaves the chart, as in the papers' figures). */
  yMax?: number
  width?: number
  height?: number
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f']

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1
  const raw = span / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag
  const ticks: number[] = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return v.toExponential(0).replace('+', '')
  return String(Number(v.toPrecision(3)))
}

/** One line chart as a standalone SVG document. */
export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 720
  const H = spec.height ?? 420
  const m = { l: 70, r: 160, t: 40, b: 55 }
  const pw = W - m.l - m.r
  const ph = H - m.t - m.b
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]))
  let ys = spec.series.flatMap((s) => s.points.map((p) => p[1]).filter((y): y is number => y !== null))
  if (spec.logY) ys = ys.filter((y) => y > 0)
  const xMin = xs.length ? Math.min(...xs) : 0
  const xMax = xs.length ? Math.max(...xs) : 1
  let yMin = spec.logY ? Math.min(...ys) : 0
  let yMax = ys.length ? Math.max(...ys) : 1
  if (spec.yMax !== undefined) yMax = Math.min(yMax, spec.yMax)
  if (spec.logY) {
    yMin = 10 ** Math.floor(Math.log10(yMin || 1))
    yMax = 10 ** Math.ceil(Math.log10(yMax || 10))
  }
  if (yMax <= yMin) yMax = yMin + 1
  const tx = (x: number): number => m.l + (xMax > xMin ? ((x - xMin) / (xMax - xMin)) * pw : pw / 2)
  const ty = (y: number): number => {
    const v = spec.logY
      ? (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))
      : (y - yMin) / (yMax - yMin)
    return m.t + ph - Math.min(1.02, Math.max(0, v)) * ph
  }
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  )
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  out.push(`<text x="${m.l + pw / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`)
  const yt = spec.logY
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : niceTicks(yMin, yMax)
  for (const t of yt) {
    const y = ty(t)
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${fmt(t)}</text>`)
  }
  for (const t of niceTicks(xMin, xMax, 8)) {
    const x = tx(t)
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 5}" stroke="#333"/>`)
    out.push(`<text x="${x}" y="${m.t + ph + 18}" text-anchor="middle">${fmt(t)}</text>`)
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`)
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`)
  out.push(
    `<text x="16" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">${esc(spec.yLabel)}</text>`,
  )
  spec.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!
    const segs: string[] = []
    let cur: string[] = []
    for (const [x, y] of s.points) {
      if (y === null || (spec.logY && y <= 0)) {
        if (cur.length) segs.push(cur.join(' '))
        cur = []
        continue
      }
      cur.push(`${tx(x).toFixed(1)},${ty(y).toFixed(1)}`)
    }
    if (cur.length) segs.push(cur.join(' '))
    for (const seg of segs) {
      out.push(`<polyline points="${seg}" fill="none" stroke="${colour}" stroke-width="2"/>`)
    }
    const ly = m.t + 10 + i * 20
    out.push(
      `<line x1="${m.l + pw + 14}" x2="${m.l + pw + 38}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`,
    )
    out.push(`<text x="${m.l + pw + 44}" y="${ly + 4}">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/** Stack several charts vertically into one SVG document. */
export function stackCharts(charts: string[]): string {
  let y = 0
  let w = 0
  const parts: string[] = []
  for (const c of charts) {
    const width = Number(/width="(\d+)"/.exec(c)?.[1] ?? 720)
    const height = Number(/height="(\d+)"/.exec(c)?.[1] ?? 420)
    parts.push(`<g transform="translate(0 ${y})">${c.replace(/<svg[^>]*>/, '').replace('</svg>', '')}</g>`)
    y += height
    w = Math.max(w, width)
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${y}" viewBox="0 0 ${w} ${y}" font-family="sans-serif" font-size="12">\n${parts.join('\n')}\n</svg>\n`
}
