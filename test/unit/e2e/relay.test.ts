import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../src/common/index.ts'
import type { Envelope } from '../../../src/e2e/index.ts'
import {
  decodeEnvelope,
  encodeEnvelope,
  forwardEnvelope,
  newEnvelope,
  SessionManager,
} from '../../../src/e2e/index.ts'
import { agent, contains } from './helpers.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

describe('three parties: A -> relay R -> B with envelopes', () => {
  for (const [label, directory, hybrid] of [
    ['IK', true, false],
    ['XX', false, false],
    ['IK hybrid', true, true],
  ] as const) {
    it(`${label}: both directions delivered, the relay sees neither plaintext nor the agents' capabilities`, async () => {
      const A = agent(41, ['secret-capability-a'])
      const B = agent(42, ['secret-capability-b'])
      const clock = new ManualClock(0)
      const relayed: Uint8Array[] = []
      const wire: Uint8Array[] = []
      let n = 0
      const nodes = new Map<string, SessionManager>()
      const got = new Map<string, string[]>([
        [A.keys.agentId, []],
        [B.keys.agentId, []],
      ])
      for (const x of [A, B]) {
        nodes.set(
          x.keys.agentId,
          new SessionManager({
            keys: x.keys,
            card: x.card,
            clock,
            hybrid,
            ...(directory
              ? { lookupCard: (id: string) => [A, B].find((y) => y.keys.agentId === id)?.card }
              : {}),
            send: (to, body) => {
              const id = new Uint8Array(16)
              id[0] = n++
              wire.push(
                encodeEnvelope(newEnvelope({ id, to, replyTo: x.keys.agentId, kind: 'session', body })),
              )
            },
          }),
        )
      }
      const relay = (bytes: Uint8Array): Envelope => {
        relayed.push(Uint8Array.from(bytes))
        return forwardEnvelope(decodeEnvelope(bytes), 'relay-peer')
      }
      const pump = async () => {
        while (wire.length > 0) {
          const env = relay(wire.shift() as Uint8Array)
          const m = nodes.get(env.to)
          for (const r of (await m?.onMessage(env.replyTo ?? '', env.body)) ?? []) {
            got.get(env.to)?.push(`${r.from.slice(0, 4)}:${dec.decode(r.plaintext)}`)
          }
        }
      }
      await nodes
        .get(A.keys.agentId)
        ?.encrypt(B.keys.agentId, enc.encode('hello bob, the password is tangerine'))
      await pump()
      await nodes.get(B.keys.agentId)?.encrypt(A.keys.agentId, enc.encode('got it: tangerine'))
      await pump()
      expect(got.get(B.keys.agentId)).toEqual([
        `${A.keys.agentId.slice(0, 4)}:hello bob, the password is tangerine`,
      ])
      expect(got.get(A.keys.agentId)).toEqual([`${B.keys.agentId.slice(0, 4)}:got it: tangerine`])
      expect(relayed.length).toBeGreaterThanOrEqual(directory ? 3 : 4)
      for (const bytes of relayed) {
        expect(contains(bytes, enc.encode('tangerine'))).toBe(false)
        expect(contains(bytes, enc.encode('secret-capability'))).toBe(false)
      }
    })
  }
})
