import { describe, expect, it } from 'vitest'
import {
  breed,
  exportTrace,
  offlineHost,
  replayTrace,
  runSource,
  seededRandomForTest,
} from './self-helpers.ts'

const base = `.region S editable
:s
  SET v = 1
  RET
.end
.region L locked
:l
  SET w = 1
  RET
.end
`

describe('self opcodes', () => {
  it('SELF_READ returns the region source; SELF_INTROSPECT regions', async () => {
    const { result } = await runSource(
      `JUMP go\n${base}:go\nSELF_READ "S" -> r\nSELF_INTROSPECT "regions" -> g\nHALT [r, g]`,
      { gas: 1000 },
    )
    expect(result.output).toEqual([
      ':s\n  SET v = 1\n  RET',
      [
        { name: 'S', mode: 'editable' },
        { name: 'L', mode: 'locked' },
      ],
    ])
  })
  it('SELF_MODIFY of a locked region is refused at run time when the name is computed', async () => {
    const { result, machine } = await runSource(
      `JUMP go\n${base}:go\nSELF_OBSERVER_MODE true\nSET n = "L"\nSELF_MODIFY n, ":l\\nRET" -> ok\nHALT [ok, lastRewriteFailed]`,
      { gas: 1000, trace: true },
    )
    expect(result.output).toEqual([false, true])
    expect(machine.trace?.changes[0]?.reason).toMatch(/^PERMISSION_DENIED: region 'L' is locked/)
  })
  it('an invalid patch is refused with verifier errors and nothing changes', async () => {
    const { result, machine } = await runSource(
      `JUMP go\n${base}:go\nSELF_OBSERVER_MODE true\nSELF_MODIFY "S", "BOGUS 1" -> ok\nHALT ok`,
      { gas: 1000, trace: true },
    )
    expect(result.output).toBe(false)
    expect(machine.trace?.changes[0]?.reason).toMatch(/INVALID_PATCH: .*unknown opcode 'BOGUS'/)
    expect(machine.program.source).toContain('SET v = 1')
  })
  it('SELF_MODIFY charges 50 + 0.5 × size', async () => {
    const a = await runSource(
      `JUMP go\n${base}:go\nSELF_OBSERVER_MODE true\nSELF_MODIFY "S", ":s\\nRET"\nHALT`,
      { gas: 1000 },
    )
    const b = await runSource(
      `JUMP go\n${base}:go\nSELF_OBSERVER_MODE true\nSELF_MODIFY "S", ":s\\nNOP\\nNOP\\nNOP\\nRET"\nHALT`,
      { gas: 1000 },
    )
    expect(b.result.gasUsed - a.result.gasUsed).toBe(
      Math.ceil(0.5 * ':s\nNOP\nNOP\nNOP\nRET'.length) - Math.ceil(0.5 * ':s\nRET'.length),
    )
  })
  it('REVERT_CODE restores the snapshot', async () => {
    const { result } = await runSource(
      `JUMP go\n${base}:go\nSELF_OBSERVER_MODE true\nSELF_MODIFY "S", ":s\\nSET v = 2\\nRET"\nCALL s\nSET a = v\nREVERT_CODE "S"\nCALL s\nHALT [a, v]`,
      { gas: 1000 },
    )
    expect(result.output).toEqual([2, 1])
  })
  it('a self-modifying run replays exactly', async () => {
    const src = `JUMP go\n${base}:go\nSELF_OBSERVER_MODE true\nSELF_MODIFY "S", ":s\\nSET v = 3\\nRET"\nCALL s\nHALT v`
    const host = offlineHost()
    const { result, machine } = await runSource(src, { gas: 1000, host, trace: true })
    expect(result.output).toBe(3)
    const text = await exportTrace(machine, {
      file: 'x',
      source: src,
      agentId: host.agentId,
      gasLimit: 1000,
      inputs: {},
    })
    expect(text).toContain('"change"')
    expect((await replayTrace(text)).ok).toBe(true)
  })
  it('breed crosses editable regions and verifies the child', () => {
    const a = '.region S editable\nSET x = 100\n.end\n.region L locked\nHALT x\n.end'
    const b = '.region S editable\nSET x = 7\nSET y = 1\n.end\nHALT 0'
    const seen = new Set<string>()
    for (let s = 1; s <= 12; s++) {
      const r = breed(a, b, { random: seededRandomForTest(s), mutationRate: 0.5 })
      expect(r.ok).toBe(true)
      expect(r.source).toContain('.region L locked\nHALT x\n.end')
      seen.add(r.origin.S as string)
    }
    expect([...seen].sort()).toEqual(['A', 'B'])
    const refused = breed(a, b, {
      random: seededRandomForTest(1),
      policy: (child) => ({ ok: !child.code.some((i) => i.name === 'HALT'), reason: 'no HALT allowed' }),
    })
    expect(refused).toMatchObject({ ok: false })
    expect(refused.errors[0]?.message).toBe('policy: no HALT allowed')
  })
})
