import { describe, expect, it } from 'vitest'
import { type Case, exec } from './helpers.ts'

const cases: Case[] = [
  {
    name: 'KV_STORE / KV_FETCH / default / KV_DELETE',
    src: 'KV_STORE "k", {a: [1]}\nKV_FETCH "k" -> a\nKV_FETCH "none", 5 -> b\nKV_DELETE "k"\nKV_FETCH "k" -> c\nHALT [a, b, c]',
    out: [{ a: [1] }, 5, null],
  },
  { name: 'null key', src: 'KV_STORE null, 1', halt: 'INVALID_OPERAND' },
  {
    name: 'CALC_EMBED gives a unit vector',
    src: 'CALC_EMBED "hello world" -> v\nLIST_LEN v -> n\nHALT n',
    out: 256,
  },
  {
    name: 'DOC_STORE / DOC_FETCH',
    src: 'DOC_STORE "c", "d1", "text", [1, 0]\nDOC_FETCH "c", "d1" -> d\nDOC_FETCH "c", "d2" -> e\nHALT [d, e]',
    out: [{ id: 'd1', text: 'text', vector: [1, 0] }, null],
  },
  {
    name: 'DOC_STORE rejects a non-vector',
    src: 'SET x = "x"\nDOC_STORE "c", "d1", "t", x',
    halt: 'INVALID_OPERAND',
  },
  {
    name: 'DOC_SEARCH cosine top-k',
    src: 'DOC_STORE "c", "a", "A", [1, 0]\nDOC_STORE "c", "b", "B", [0, 1]\nDOC_STORE "c", "ab", "AB", [1, 1]\nDOC_SEARCH "c", [1, 0.1], 2 -> h\nHALT [h[0].id, h[1].id]',
    out: ['a', 'ab'],
  },
  {
    name: 'DOC_SEARCH with MMR prefers diversity',
    src: 'DOC_STORE "c", "a", "A", [1, 0]\nDOC_STORE "c", "a2", "A2", [0.99, 0.01]\nDOC_STORE "c", "b", "B", [0.5, 0.5]\nDOC_SEARCH "c", [1, 0.05], 2, MMR=true -> h\nDOC_SEARCH "c", [1, 0.05], 2 -> p\nHALT [h[0].id, h[1].id, p[0].id, p[1].id]',
    out: ['a2', 'b', 'a2', 'a'],
  },
  {
    name: 'DELETE_DOC / DELETE_COLLECTION',
    src: 'DOC_STORE "c", "a", "A", [1]\nDOC_STORE "c", "b", "B", [1]\nDELETE_DOC "c", "a"\nDOC_FETCH "c", "a" -> x\nDELETE_COLLECTION "c" -> n\nDOC_SEARCH "c", [1] -> h\nHALT [x, n, h]',
    out: [null, 1, []],
  },
  {
    name: 'TX_ABORT drops staged writes',
    src: 'TX_BEGIN\nKV_STORE "k", 1\nKV_FETCH "k" -> inside\nTX_ABORT\nKV_FETCH "k" -> after\nHALT [inside, after]',
    out: [1, null],
  },
  {
    name: 'TX_COMMIT applies all',
    src: 'TX_BEGIN\nKV_STORE "a", 1\nDOC_STORE "c", "d", "t", [1]\nTX_COMMIT\nKV_FETCH "a" -> a\nDOC_FETCH "c", "d" -> d\nHALT [a, d.text]',
    out: [1, 't'],
  },
  { name: 'TX_COMMIT without TX_BEGIN', src: 'TX_COMMIT', halt: 'INVALID_OPERAND' },
  { name: 'nested TX_BEGIN', src: 'TX_BEGIN\nTX_BEGIN', halt: 'INVALID_OPERAND' },
]

describe('storage opcodes', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { result } = await exec(c.src)
      if (c.halt) expect(result.halt?.reason).toBe(c.halt)
      else {
        expect(result.halt).toBeNull()
        expect(result.output).toEqual(c.out)
      }
    })
  }
  it('KV is per agent', async () => {
    const { host } = await exec('KV_STORE "k", 1')
    const other = { ...host, agentId: '1'.repeat(64) }
    const { result } = await exec('KV_FETCH "k" -> v\nHALT v', { host: other })
    expect(result.output).toBeNull()
  })
})
