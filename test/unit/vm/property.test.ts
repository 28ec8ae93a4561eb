import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assemble,
  exportTrace,
  Machine,
  OPCODES,
  offlineHost,
  replayTrace,
  restoreMachine,
  serializeState,
} from '../../../src/vm/index.ts'

const operand = fc.oneof(
  fc.constantFrom(
    'a',
    'b',
    'R_state.x[-1]',
    'l',
    '_',
    '"s"',
    "'t'",
    '[1, a]',
    '{k: 1}',
    'null',
    'true',
    '-1',
    '0',
    '3.5',
    'a + b',
    'NOT a',
    'top',
    'x == 1 OR y',
  ),
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.string({ maxLength: 6 }),
)
const line = fc.oneof(
  fc
    .tuple(fc.constantFrom(...OPCODES.map((o) => o.name)), fc.array(operand, { maxLength: 4 }), fc.boolean())
    .map(([op, args, res]) => `${op} ${args.join(', ')}${res ? ' -> a' : ''}`),
  fc.constantFrom(
    ':top',
    'IF a THEN',
    'ELSE',
    'ENDIF',
    '.region R editable',
    '.end',
    '#define K 3',
    'SELF_OBSERVER_MODE true',
    'SELF_MODIFY "R", "SET a = 2"',
    'JUMP top',
  ),
)

describe('property: no input makes the assembler or interpreter throw', () => {
  it('random instruction soup assembles to errors or runs to a halt', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 14 }), async (lines) => {
        const r = assemble(lines.join('\n'))
        if (!r.program) {
          expect(r.errors.length).toBeGreaterThan(0)
          for (const e of r.errors) expect(e.line).toBeGreaterThan(0)
          return
        }
        const m = new Machine({
          program: r.program,
          host: offlineHost(),
          gasLimit: 300,
          inputs: { R_state: { x: [1] } },
        })
        const res = await m.run()
        expect(['ok', 'error', 'suspended']).toContain(res.status)
        expect(res.gasUsed).toBeLessThanOrEqual(300)
      }),
      { numRuns: 300 },
    )
  })
})

describe('memory cap', () => {
  it('values spread over registers halt with MEMORY_LIMIT', async () => {
    const regs = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']
    const src = `SET s = "x"\nSET n = 0\n:grow\nADD s, s -> s\nADD n, 1 -> n\nLT n, 20 -> c\nJUMP_IF_TRUE c, grow\n${regs.map((r) => `ADD s, "${r}" -> ${r}`).join('\n')}\nHALT 1`
    const r = assemble(src)
    const m = new Machine({
      program: r.program as NonNullable<typeof r.program>,
      host: offlineHost(),
      gasLimit: 10_000,
    })
    const res = await m.run()
    expect(res.halt?.reason).toBe('MEMORY_LIMIT')
    expect(res.halt?.message).toMatch(/over the 16777216-byte cap/)
  })
})

describe('property: interrupting a run with save/restore changes nothing', () => {
  const src = `SET i = 0
SET acc = []
:l
  MUL i, i -> sq
  LIST_PUSH acc, sq -> acc
  KV_STORE "last", sq
  CALL bump
  LT i, 40 -> c
  JUMP_IF_TRUE c, l
KV_FETCH "last" -> last
HALT [acc.length, last, i]
:bump
  ADD i, 1 -> i
  RET`
  it('same output and gas for any slicing', async () => {
    const program = assemble(src).program as NonNullable<ReturnType<typeof assemble>['program']>
    const ref = await new Machine({ program, host: offlineHost(), gasLimit: 100_000 }).run()
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }),
        async (slices) => {
          const host = offlineHost()
          let m = new Machine({ program, host, gasLimit: 100_000 })
          let k = 0
          for (;;) {
            const r = await m.run(slices[k++ % slices.length])
            if (r.status !== 'suspended') {
              expect(r).toEqual(ref)
              return
            }
            m = restoreMachine(serializeState(m), host)
          }
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe('property: every traced run replays exactly', () => {
  it('random programs: export the trace, replay it, no divergence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 12 }), async (lines) => {
        const source = lines.join('\n')
        const r = assemble(source)
        if (!r.program) return
        const host = offlineHost()
        const inputs = { R_state: { x: [1] } }
        const m = new Machine({ program: r.program, host, gasLimit: 300, inputs, trace: true })
        await m.run()
        const text = await exportTrace(m, {
          file: 'p.avm',
          source,
          agentId: host.agentId,
          gasLimit: 300,
          inputs,
        })
        const rep = await replayTrace(text)
        expect(rep.divergence).toBeNull()
      }),
      { numRuns: 150 },
    )
  })
})

describe('regression: trace export names the file the program was assembled as', () => {
  // fast-check found this: a checkpoint stores the program's file name, so a
  // trace exported under another name diverged at the CREATE_SYSTEM_CHECKPOINT.
  it('a checkpointing program replays even when the caller passes another file name', async () => {
    const source = 'CREATE_SYSTEM_CHECKPOINT'
    const r = assemble(source)
    const host = offlineHost()
    const inputs = { R_state: { x: [1] } }
    const m = new Machine({ program: r.program!, host, gasLimit: 300, inputs, trace: true })
    await m.run()
    const text = await exportTrace(m, { file: 'p.avm', source, agentId: host.agentId, gasLimit: 300, inputs })
    expect((await replayTrace(text)).divergence).toBeNull()
  })
})
