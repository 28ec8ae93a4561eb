/**
 * The market provider programs of examples/agents (market-*.avm), offline
 * against a scripted inbox and a recording `Economy`: each bids its cost
 * function with one XOR offer per quantity and answers its task with the
 * upper-cased payload. The daemon runs them on a 20-process devnet in
 * test/e2e/market_devnet.test.ts.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  defaultRegistry,
  type Economy,
  offlineHost,
  type OfferSpec,
  type SwarmMessage,
  type Value,
} from '../../../src/vm/index.ts'
import { exec } from './helpers.ts'

const ex = (f: string) => readFileSync(new URL(`../../../examples/agents/${f}`, import.meta.url), 'utf8')

/** A host whose inbox holds `msgs` (then stays empty) and whose economy records bids and results. */
function scripted(msgs: SwarmMessage[]) {
  const bids: [string, OfferSpec[]][] = []
  const results: [string, Value, boolean][] = []
  const waits: number[] = []
  const base = offlineHost({ plugins: defaultRegistry([]) })
  const economy = {
    auctionBid: async (_a: string, id: string, offers: OfferSpec[]) => (bids.push([id, offers]), true),
    taskResult: async (_a: string, id: string, ok: boolean, out: Value) => (
      results.push([id, out, ok]),
      true
    ),
  } as unknown as Economy
  const host = {
    ...base,
    economy,
    sleep: async (ms: number) => void waits.push(ms),
    messenger: { ...base.messenger, receive: async () => msgs.shift() ?? null },
  }
  return { host, bids, results, waits }
}

const cfp = (id: string, units: number, payload: Value): SwarmMessage => ({
  id: `m-${id}`,
  from: 'requester',
  channel: 'market',
  topic: 'cfp',
  data: { cfp_id: id, capability: 'uppercase', units, reserve: 50, payload },
})
const task = (escrow: string, payload: Value): SwarmMessage => ({
  id: `t-${escrow}`,
  from: 'requester',
  channel: 'market',
  topic: 'task',
  data: { cfp_id: 'c', escrow_id: escrow, units: 1, price: 1, payment: 1, payload },
})

describe('market provider examples', () => {
  const cases: [string, Record<string, Value>, (u: number, text: string) => number][] = [
    ['market-flat.avm', {}, (u) => 12 * u],
    ['market-flat.avm', { unit: 5, max_units: 2 }, (u) => 5 * u],
    ['market-per-char.avm', {}, (u, t) => u * (2 + t.length)],
    ['market-rising.avm', {}, (u) => u * (7 + 2 * (u - 1))],
  ]
  for (const [file, inputs, cost] of cases)
    it(`${file} ${JSON.stringify(inputs)} bids its cost function and answers its task`, async () => {
      const s = scripted([
        cfp('c1', 1, 'hi'),
        cfp('c2', 5, 'three units'),
        cfp('c3', 2, { n: 1 }),
        task('c2/x', 'three units'),
      ])
      const { machine } = await exec(ex(file), { host: s.host, inputs, gas: 3000 })
      const max = (inputs.max_units as number | undefined) ?? 3
      const offers = (units: number, text: string) =>
        Array.from({ length: Math.min(units, max) }, (_, i) => ({ units: i + 1, price: cost(i + 1, text) }))
      expect(s.bids).toEqual([
        ['c1', offers(1, 'hi')],
        ['c2', offers(5, 'three units')],
        ['c3', offers(2, '{"n":1}')],
      ])
      expect(s.results).toEqual([['c2/x', 'THREE UNITS', true]])
      expect(machine.getNamed('bids')).toBe(3)
      expect(machine.getNamed('tasks')).toBe(1)
    })

  it('market-slow.avm bids once for one unit and answers after its delay', async () => {
    const s = scripted([cfp('c1', 3, 'x'), task('c1/x', 'too late')])
    const { machine } = await exec(ex('market-slow.avm'), {
      host: s.host,
      inputs: { delay_ms: 1234 },
      gas: 3000,
    })
    expect(s.bids).toEqual([['c1', [{ units: 1, price: 5 }]]])
    expect(s.waits).toEqual([1234])
    expect(s.results).toEqual([['c1/x', 'TOO LATE', true]])
    expect(machine.getNamed('task')).toBe('c1/x')
    expect(machine.getNamed('late')).toBe(true)
  })
})
