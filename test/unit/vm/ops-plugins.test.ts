import { describe, expect, it } from 'vitest'
import { defaultRegistry, offlineHost, type Plugin } from '../../../src/vm/index.ts'
import { exec } from './helpers.ts'

const upper: Plugin = {
  name: 'upper',
  kind: 'model',
  gas: { base: 7 },
  call: (r) => String(r.args[0]).toUpperCase(),
}
const boom: Plugin = {
  name: 'boom',
  call: () => {
    throw new Error('kaput')
  },
}
const prompt: Plugin = {
  name: 'llm',
  opcodes: { SEPARATE_PROMPT: {} },
  call: (r) => ({ func: r.func, kw: r.kwargs }),
}

describe('plugin opcodes', () => {
  it('CALL_PLUGIN charges the plugin gas rule', async () => {
    const { result } = await exec('CALL_PLUGIN plugin="upper", func="x", args=["ab"], out=r\nHALT r', {
      plugins: [upper],
    })
    expect(result.output).toBe('AB')
    expect(result.gasUsed).toBe(5 + 7 + 1 + 0)
  })
  it('a failing plugin sets the status and the program branches', async () => {
    const { result, machine } = await exec(
      'CALL_PLUGIN "boom", "f" -> r\nJUMP_IF_PLUGIN_FAILED bad\nHALT 1\n:bad\nHALT r',
      { plugins: [boom] },
    )
    expect(result).toMatchObject({ status: 'ok', output: null })
    expect(machine.logs[0]).toContain('kaput')
  })
  it('the per-agent allow-list is enforced', async () => {
    const host = offlineHost({ plugins: defaultRegistry([upper], { ['0'.repeat(64)]: ['local-embed'] }) })
    const { result } = await exec(
      'CALL_PLUGIN "upper", "f", "x" -> r\nJUMP_IF_PLUGIN_FAILED bad\nHALT r\n:bad\nGET_TOOLS_LIST -> t\nHALT t',
      { host },
    )
    expect(result.output).toEqual(['local-embed'])
  })
  it('MAP_MODEL_CALL maps, REDUCE_MODEL_CALL reduces with built-ins', async () => {
    const { result } = await exec(
      'MAP_MODEL_CALL "upper", ["a", "b"] -> m\nREDUCE_MODEL_CALL "concat", m -> c\nREDUCE_MODEL_CALL "average", [1, 2, 6] -> avg\nREDUCE_MODEL_CALL "vote", ["x", "y", "x"] -> v\nREDUCE_MODEL_CALL "sum", [1, 2] -> s\nREDUCE_MODEL_CALL "max", [1, 9] -> mx\nREDUCE_MODEL_CALL "min", [4, 2] -> mn\nHALT [m, c, avg, v, s, mx, mn]',
      { plugins: [upper] },
    )
    expect(result.output).toEqual([['A', 'B'], 'AB', 3, 'x', 3, 9, 2])
  })
  it('GPU_INFER fails (status) when the model costs more than gas_limit', async () => {
    const { result } = await exec(
      'GPU_INFER "upper", "q", gas_limit=3 -> r\nJUMP_IF_PLUGIN_FAILED over\nHALT r\n:over\nGPU_INFER "upper", "q", gas_limit=50 -> r\nHALT r',
      { plugins: [upper] },
    )
    expect(result.output).toBe('Q')
  })
  it('plugin-declared opcodes receive positional and keyword operands', async () => {
    const { result } = await exec('SEPARATE_PROMPT input=[1, 2], objective="x", out=p\nHALT p', {
      plugins: [prompt],
    })
    expect(result.output).toEqual({ func: 'SEPARATE_PROMPT', kw: { input: [1, 2], objective: 'x' } })
  })
  it('READ_FROM_TOOL / WRITE_TO_TOOL dispatch read and write', async () => {
    const calls: string[] = []
    const tool: Plugin = {
      name: 'T',
      call: (r) => {
        calls.push(r.func)
        return r.func === 'read' ? { n: 1 } : true
      },
    }
    const { result } = await exec('READ_FROM_TOOL "T", 1 -> a\nWRITE_TO_TOOL "T", a -> b\nHALT [a, b]', {
      plugins: [tool],
    })
    expect(result.output).toEqual([{ n: 1 }, true])
    expect(calls).toEqual(['read', 'write'])
  })
})
