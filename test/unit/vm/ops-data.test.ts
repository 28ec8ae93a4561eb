import { describe, expect, it } from 'vitest'
import { type Case, exec } from './helpers.ts'

const cases: Case[] = [
  { name: 'ADD numbers', src: 'ADD 2, 3 -> r\nHALT r', out: 5 },
  { name: 'ADD strings concatenates', src: 'ADD "a", 1 -> r\nHALT r', out: 'a1' },
  { name: 'ADD lists concatenates', src: 'ADD [1], [2] -> r\nHALT r', out: [1, 2] },
  {
    name: 'SUB MUL DIV MOD',
    src: 'SUB 10, 4 -> a\nMUL a, 3 -> b\nDIV b, 4 -> c\nMOD 7, 3 -> d\nHALT [a, b, c, d]',
    out: [6, 18, 4.5, 1],
  },
  { name: 'division by zero', src: 'DIV 1, 0', halt: 'INVALID_OPERAND' },
  { name: 'type error', src: 'SUB "a", 1', halt: 'INVALID_OPERAND' },
  {
    name: 'NEG INC DEC MIN MAX',
    src: 'NEG 3 -> a\nSET b = 1\nINC b\nINC b\nDEC b\nMIN 4, 2 -> c\nMAX 4, 2 -> d\nHALT [a, b, c, d]',
    out: [-3, 2, 2, 4],
  },
  {
    name: 'comparisons',
    src: 'EQ [1, {a: 2}], [1, {a: 2}] -> a\nNE 1, 2 -> b\nLT "a", "b" -> c\nGE 2, 2 -> d\nGT 1, 2 -> e\nLE 3, 2 -> f\nHALT [a, b, c, d, e, f]',
    out: [true, true, true, true, false, false],
  },
  {
    name: 'logic',
    src: 'AND 1, 0 -> a\nOR 0, "x" -> b\nNOT null -> c\nHALT [a, b, c]',
    out: [false, true, true],
  },
  {
    name: 'expressions in operands',
    src: 'SET a = 2\nSET b = (a + 1) * 4 - 2 % 2\nHALT b == 12 AND NOT (a > 5)',
    out: true,
  },
  {
    name: 'strings',
    src: 'CONCAT "ab", 3 -> a\nSTR_LEN "hello" -> b\nSUBSTR "hello", -3, 2 -> c\nUPPER "x" -> d\nSPLIT "a,b", "," -> e\nJOIN ["a", 1], "-" -> f\nREPLACE "aXbX", "X", "." -> g\nTRIM "  t " -> h\nHALT [a, b, c, d, e, f, g, h]',
    out: ['ab3', 5, 'll', 'X', ['a', 'b'], 'a-1', 'a.b.', 't'],
  },
  {
    name: 'CONTAINS on strings, lists, maps',
    src: 'CONTAINS "hello", "ell" -> a\nCONTAINS [1, 2], 2 -> b\nCONTAINS {k: 1}, "k" -> c\nHALT [a, b, c]',
    out: [true, true, true],
  },
  {
    name: 'TO_STRING / TO_NUMBER',
    src: 'TO_STRING [1] -> a\nTO_NUMBER " 42 " -> b\nTO_NUMBER "x" -> c\nHALT [a, b, c]',
    out: ['[1]', 42, null],
  },
  {
    name: 'lists are immutable values',
    src: 'SET a = [1]\nLIST_PUSH a, 2 -> b\nLIST_SET b, 0, 9 -> c\nLIST_GET c, -1 -> d\nLIST_LEN c -> e\nLIST_SLICE [1, 2, 3], 1 -> f\nLIST_NEW 1, "x" -> g\nHALT [a, b, c, d, e, f, g]',
    out: [[1], [1, 2], [9, 2], 2, 2, [2, 3], [1, 'x']],
  },
  { name: 'list index out of range', src: 'LIST_SET [1], 5, 0', halt: 'INVALID_OPERAND' },
  {
    name: 'maps',
    src: 'MAP_NEW -> m\nMAP_SET m, "a", 1 -> m\nMAP_SET m, "b", 2 -> m\nMAP_GET m, "a" -> x\nMAP_GET m, "z", 0 -> y\nMAP_HAS m, "b" -> h\nMAP_DEL m, "a" -> m2\nMAP_KEYS m -> k\nHALT [x, y, h, m2, k]',
    out: [1, 0, true, { b: 2 }, ['a', 'b']],
  },
  {
    name: 'paths and GET',
    src: 'SET s = {c: [{t: "x"}, {t: "y"}]}\nGET s.c, -1 -> a\nHALT [s.c[-1].t, s.c.length, a.t, s.missing.empty]',
    out: ['y', 2, 'y', true],
  },
  {
    name: 'APPEND_MESSAGE writes back into a path',
    src: 'SET R_state = {conversation: [{role: "user", text: "hi"}]}\nAPPEND_MESSAGE R_state.conversation, "assistant", "hello"\nHALT R_state.conversation[-1]',
    out: { role: 'assistant', content: 'hello' },
  },
  { name: '#define constants', src: '#define N 3\n#define M N * 2\nHALT M + N', out: 9 },
  { name: 'LOG goes to the agent log', src: 'LOG "a", 1\nSELF_INTROSPECT "logs" -> l\nHALT l', out: ['a 1'] },
  { name: 'value size cap', src: 'SET s = "x"\n:l\nADD s, s -> s\nJUMP l', halt: 'VALUE_TOO_LARGE' },
]

describe('data opcodes', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { result } = await exec(c.src, { gas: c.gas ?? 1_000_000 })
      if (c.halt) expect(result.halt?.reason).toBe(c.halt)
      else {
        expect(result.halt).toBeNull()
        expect(result.output).toEqual(c.out)
      }
    })
  }
})
