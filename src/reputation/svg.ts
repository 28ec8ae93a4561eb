/**
 * A small hand-written SVG line chart (no dependency) for the attack
 * simulation: several series over a shared x axis, optional horizontal
 * reference line, axis ticks and a legend.
 */
export interface Series {
  name: string
  color: string
  points: readonly (readonly [number, number])[]
  dashed?: boolean
}

export interface LineChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: readonly Series[]
  yMin?: number
  yMax?: number
  /** A horizontal reference line (e.g. the 5 % target). */
  reference?: { y: number; label: string }
  /** Format of y tick labels. @default 2 significant decimals */
  yFormat?: (y: number) => string
  width?: number
  height?: number
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function lineChart(spec: LineChartSpec): string {
  const W = spec.width ?? 720
  const H = spec.height ?? 360
  const m = { l: 64, r: 170, t: 36, b: 48 }
  const all = spec.series.flatMap((s) => s.points)
  const xs = all.map((p) => p[0])
  const ys = all.map((p) => p[1])
  const x0 = Math.min(...xs, 0)
  const x1 = Math.max(...xs, x0 + 1)
  const y0 = spec.yMin ?? Math.min(...ys, 0)
  const y1 = spec.yMax ?? niceMax(Math.max(...ys, spec.reference?.y ?? 0, y0 + 1e-9))
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r)
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b)
  const fmt = spec.yFormat ?? ((y: number) => (Math.abs(y) >= 100 ? y.toFixed(0) : y.toFixed(2)))
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2 - m.r / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
  )
  for (let k = 0; k <= 5; k++) {
    const y = y0 + ((y1 - y0) * k) / 5
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.l - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${esc(fmt(y))}</text>`,
    )
    const x = x0 + ((x1 - x0) * k) / 5
    out.push(`<text x="${px(x).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(x)}</text>`)
  }
  out.push(
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  )
  if (spec.reference) {
    const y = py(spec.reference.y).toFixed(1)
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#c00" stroke-dasharray="2 3"/>`,
      `<text x="${W - m.r - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#c00">${esc(spec.reference.label)}</text>`,
    )
  }
  spec.series.forEach((s, i) => {
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${px(p[0]).toFixed(1)} ${py(p[1]).toFixed(1)}`).join('')
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : ''
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`)
    const ly = m.t + 10 + i * 20
    out.push(
      `<line x1="${W - m.r + 12}" x2="${W - m.r + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${W - m.r + 42}" y="${ly + 4}">${esc(s.name)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

function niceMax(v: number): number {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p
  return 10 * p
}
