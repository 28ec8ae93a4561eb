import { describe, expect, it } from 'vitest'
import { lineChart, runSim } from '../../../src/reputation/index.ts'

describe('attack simulation', () => {
  it('with reputation, malicious agents stop winning and lose money; without it they keep winning', async () => {
    const cfg = { agents: 50, rounds: 30, auctionsPerRound: 10, attack: 'all' as const, seed: 3 }
    const withRep = await runSim(cfg)
    const without = await runSim({ ...cfg, useTrust: false, useStake: false })
    const late = (r: typeof withRep) => {
      const last = r.rounds.slice(-10)
      return last.reduce((s, x) => s + x.maliciousWins, 0) / last.reduce((s, x) => s + x.auctions, 0)
    }
    expect(late(withRep)).toBeLessThan(0.05)
    expect(late(without)).toBeGreaterThan(0.5)
    expect(withRep.belowTargetFrom).toBeDefined()
    expect(withRep.honest.profit).toBeGreaterThan(without.honest.profit)
    for (const a of withRep.attacks) expect(a.net).toBeLessThan(0)
  }, 60_000)

  it('is reproducible from its seed', async () => {
    const cfg = { agents: 30, rounds: 5, auctionsPerRound: 5, attack: 'whitewash' as const, seed: 9 }
    expect(await runSim(cfg)).toEqual(await runSim(cfg))
  }, 60_000)

  it('draws an SVG chart', () => {
    const svg = lineChart({
      title: 'a < b',
      xLabel: 'round',
      yLabel: 'rate',
      series: [
        {
          name: 's',
          color: '#000',
          points: [
            [1, 0.5],
            [2, 0.1],
          ],
        },
      ],
      reference: { y: 0.05, label: '5 %' },
    })
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    expect(svg).toContain('a &lt; b')
    expect(svg).toContain('<path d="M')
  })
})
