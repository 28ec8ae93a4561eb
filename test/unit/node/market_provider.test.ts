import { describe, expect, it } from 'vitest'
import { generateSigningKey, toHex } from '../../../src/common/index.ts'
import { createCfp } from '../../../src/market/index.ts'
import { parseConfig } from '../../../src/node/config.ts'
import { jsProvider, jsProviderOffers, runBuiltinTask } from '../../../src/node/market/index.ts'
import {
  decodeRoutedCfp,
  decodeSealed,
  encodeRoutedCfp,
  encodeSealed,
} from '../../../src/node/market/messages.ts'

const k = generateSigningKey()
const requester = { id: toHex(k.publicKey), secretKey: k.secretKey }
const cfp = (units: number, reserve: number) =>
  createCfp(requester, { id: 'c1', capability: 'x', payload: 'a b  c', units, reserve }, 1000)

describe('JS providers', () => {
  it('bid cost × (1 + markup) per unit as XOR offers, and decline above the reserve', () => {
    const p = { capability: 'x', cost: 10, units: 3, markup: 0.25 }
    expect(jsProviderOffers(p, cfp(2, 100))?.offers).toEqual([
      { units: 1, price: 13 },
      { units: 2, price: 25 },
    ])
    expect(jsProviderOffers(p, cfp(1, 12))).toBeUndefined()
  })

  it('run deterministic built-in tasks', () => {
    expect(runBuiltinTask('echo', { a: 1 })).toEqual({ ok: true, output: { a: 1 } })
    expect(runBuiltinTask('uppercase', 'hi there')).toEqual({ ok: true, output: 'HI THERE' })
    expect(runBuiltinTask('word-count', 'a b  c')).toEqual({ ok: true, output: 3 })
  })

  it('are validated in the config', () => {
    const ok = parseConfig({
      market: { providers: [{ capability: 'ocr', cost: 5, units: 2, markup: 0.1, task: 'echo' }] },
    })
    expect(ok.market.providers).toHaveLength(1)
    expect(ok.market.routeMode).toBe('flood')
    for (const bad of [
      { capability: 'ocr', cost: -1, units: 1, markup: 0 },
      { capability: 'ocr', cost: 1.5, units: 1, markup: 0 },
      { capability: 'ocr', cost: 1, units: 0, markup: 0 },
      { capability: 'ocr', cost: 1, units: 1, markup: 0, task: 'rm -rf' },
      { capability: '', cost: 1, units: 1, markup: 0 },
      { capability: 'ocr', cost: 1, units: 1, markup: 0, extra: true },
    ])
      expect(() => parseConfig({ market: { providers: [bad] } })).toThrow(/market.providers/)
    expect(() => parseConfig({ market: { recovery: 'maybe' } })).toThrow(/market.recovery/)
  })

  it('negotiation settings are validated, with defaults', () => {
    const d = parseConfig({})
    expect(d.market.negotiation).toEqual({
      strategy: 'boulware',
      maxRounds: 10,
      windowMs: 5_000,
      deadlineWeight: 0,
    })
    const p = { capability: 'ocr', cost: 5, units: 1, markup: 0 }
    const ok = parseConfig({
      market: {
        negotiation: { strategy: 'tit-for-tat', maxRounds: 4, deadlineWeight: 0.5 },
        providers: [
          { ...p, negotiation: { strategy: 'linear', minPrice: 7, deadlineWeight: 2 } },
          { ...p, capability: 'b' },
        ],
      },
    })
    expect(ok.market.negotiation).toEqual({
      strategy: 'tit-for-tat',
      maxRounds: 4,
      windowMs: 5_000,
      deadlineWeight: 0.5,
    })
    expect(jsProvider(ok.market.providers[0]!, 'me').negotiate).toEqual({
      kind: 'auto',
      strategy: 'linear',
      minUnitPrice: 7,
      deadlineWeight: 2,
    })
    expect(() => parseConfig({ market: { negotiation: { deadlineWeight: 11 } } })).toThrow(
      /market.negotiation.deadlineWeight/,
    )
    expect(() =>
      parseConfig({
        market: { providers: [{ ...p, negotiation: { strategy: 'linear', deadlineWeight: -1 } }] },
      }),
    ).toThrow(/market.providers/)
    expect(jsProvider(ok.market.providers[1]!, 'me').negotiate).toMatchObject({ strategy: 'accept' })
    expect(() => parseConfig({ market: { negotiation: { strategy: 'haggle' } } })).toThrow(
      /market.negotiation.strategy/,
    )
    expect(() => parseConfig({ market: { negotiation: { strategy: 'accept' } } })).toThrow(
      /market.negotiation.strategy/,
    )
    expect(() => parseConfig({ market: { negotiation: { maxRounds: 0 } } })).toThrow(
      /market.negotiation.maxRounds/,
    )
    expect(() => parseConfig({ market: { negotiation: { windowMs: 10 } } })).toThrow(
      /market.negotiation.windowMs/,
    )
    for (const negotiation of [
      { strategy: 'x' },
      { strategy: 'accept', minPrice: -1 },
      { minPrice: 3 },
      'accept',
    ])
      expect(() => parseConfig({ market: { providers: [{ ...p, negotiation }] } })).toThrow(
        /market.providers/,
      )
  })
})

describe('market messages', () => {
  it('round-trip and refuse malformed or oversized input with a typed error', () => {
    const c = cfp(1, 10)
    const card = { body: { agentId: requester.id }, sig: 'x' }
    const bytes = encodeRoutedCfp(c, card as never)
    expect(decodeRoutedCfp(bytes, 1 << 20).cfp).toEqual(c)
    expect(() => decodeRoutedCfp(bytes, 10)).toThrow(/exceeds/)
    expect(() => decodeRoutedCfp(new TextEncoder().encode('{"v":2}'), 1000)).toThrow(/version/)
    expect(() => decodeRoutedCfp(new Uint8Array([0xff, 0xfe]), 1000)).toThrow(/JSON/)
    const s = encodeSealed(requester.id, new Uint8Array([1, 2, 3]))
    expect(decodeSealed(s, 1000)).toEqual({ to: requester.id, sealed: new Uint8Array([1, 2, 3]) })
    expect(() => decodeSealed(new TextEncoder().encode('{"to":"zz","sealed":"AQ=="}'), 1000)).toThrow(
      /agent id/,
    )
    try {
      decodeSealed(new TextEncoder().encode('[]'), 1000)
    } catch (err) {
      expect((err as { code: string }).code).toBe('MARKET_BAD_MESSAGE')
    }
  })
})
