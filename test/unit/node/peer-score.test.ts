import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../src/common/index.ts'
import { createPeerScore } from '../../../src/node/peer-score.ts'

describe('peer score', () => {
  it('bans a peer at the threshold, tells listeners once, and forgives with time', () => {
    const clock = new ManualClock(0)
    const score = createPeerScore(clock, { disconnectThreshold: -100, banMs: 60_000, recoveryPerMinute: 10 })
    const banned: string[] = []
    score.onBan((p) => banned.push(p))
    expect(score.penalise('p1', 60, 'malformed')).toBe(-60)
    expect(score.isBanned('p1')).toBe(false)
    score.penalise('p1', 50, 'bad-signature')
    expect(score.isBanned('p1')).toBe(true)
    score.penalise('p1', 5, 'again')
    expect(banned).toEqual(['p1'])
    expect(score.get('p2')).toBe(0)
    clock.advance(60_000)
    expect(score.isBanned('p1')).toBe(false)
    expect(score.get('p1')).toBeCloseTo(-105, 5)
    clock.advance(20 * 60_000)
    expect(score.get('p1')).toBe(0)
    expect(score.list()).toEqual([])
  })
})
