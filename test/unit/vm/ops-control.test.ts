import { describe, expect, it } from 'vitest'
import { type Case, exec } from './helpers.ts'

const cases: Case[] = [
  { name: 'JUMP skips', src: 'JUMP a\nHALT 1\n:a\nHALT 2', out: 2 },
  { name: 'JUMP_IF_TRUE with condition', src: 'JUMP_IF_TRUE 1 < 2, a\nHALT 1\n:a\nHALT 2', out: 2 },
  { name: 'JUMP_IF_FALSE on the last result', src: 'LT 3, 2\nJUMP_IF_FALSE a\nHALT 1\n:a\nHALT 2', out: 2 },
  { name: 'JUMP_IF_FALSE treats [] as false', src: 'JUMP_IF_FALSE [], a\nHALT 1\n:a\nHALT 2', out: 2 },
  { name: 'CALL / RET', src: 'CALL f\nHALT x\n:f\nSET x = 7\nRET', out: 7 },
  { name: 'RETURN at top level ends the run with _', src: 'ADD 1, 2\nRETURN', out: 3 },
  { name: 'running off the end is a normal halt with output _', src: 'ADD 0, 1', out: 1 },
  { name: 'HALT without operand outputs _', src: 'MUL 6, 7\nHALT', out: 42 },
  {
    name: 'IF/ELSE/ENDIF',
    src: 'SET a = 5\nIF a > 9 THEN\nSET r = "hi"\nELSE\nSET r = "lo"\nENDIF\nHALT r',
    out: 'lo',
  },
  {
    name: 'IF without THEN (seed style)',
    src: 'SET a = {status: "FAIL"}\nIF a.status != "PASS"\nHALT "no"\nENDIF\nHALT "yes"',
    out: 'no',
  },
  {
    name: 'nested IF',
    src: 'SET a = 1\nIF a == 1 THEN\nIF a > 0 THEN\nSET r = 2\nENDIF\nENDIF\nHALT r',
    out: 2,
  },
  { name: 'CALL depth limit', src: ':f\nCALL f', halt: 'CALL_DEPTH' },
  {
    name: 'JUMP_IF_PLUGIN_FAILED after a missing plugin',
    src: 'SET p = "nope"\nCALL_PLUGIN p, "f" -> r\nJUMP_IF_PLUGIN_FAILED bad\nHALT 1\n:bad\nHALT 2',
    out: 2,
  },
  { name: 'line numbers are ignored', src: '1. SET x = 3\n2. HALT x', out: 3 },
  { name: 'label with trailing colon', src: 'JUMP b\nb:\nHALT 9', out: 9 },
]

describe('control opcodes', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { result } = await exec(c.src, { gas: c.gas })
      if (c.halt) expect(result.halt?.reason).toBe(c.halt)
      else {
        expect(result.halt).toBeNull()
        expect(result.output).toEqual(c.out)
      }
    })
  }
})
