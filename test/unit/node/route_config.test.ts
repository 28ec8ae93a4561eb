import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG, parseConfig } from '../../../src/node/config.ts'

describe('routing config', () => {
  it('has documented defaults', () => {
    expect(DEFAULT_CONFIG.routing).toEqual({
      router: 'cq',
      confidenceThreshold: 0.5,
      ttl: 16,
      exploration: 0.05,
      tableCap: 1024,
      floodBaseline: false,
      dhtFallback: true,
      persistIntervalMs: 30_000,
      traceCap: 1000,
    })
    expect(parseConfig({ routing: { router: 'q', exploration: 0.1 } }).routing).toMatchObject({
      router: 'q',
      exploration: 0.1,
      ttl: 16,
    })
  })

  it('refuses bad values with the key and what is expected', () => {
    expect(() => parseConfig({ routing: { router: 'flood' } })).toThrow(
      '"routing.router" must be one of cq, q',
    )
    expect(() => parseConfig({ routing: { confidenceThreshold: 1.5 } })).toThrow(
      '"routing.confidenceThreshold" must be a number 0..1',
    )
    expect(() => parseConfig({ routing: { ttl: 0 } })).toThrow('"routing.ttl" must be an integer 1..64')
    expect(() => parseConfig({ routing: { floodBaseline: 'yes' } })).toThrow(
      '"routing.floodBaseline" must be true or false',
    )
    expect(() => parseConfig({ routing: { tabelCap: 5 } })).toThrow('did you mean "tableCap"')
  })
})
