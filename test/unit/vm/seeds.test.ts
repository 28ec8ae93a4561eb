import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { assemble, defaultRegistry, formatDiagnostic, type Plugin } from '../../../src/vm/index.ts'

const fx = (f: string) => readFileSync(new URL(`./fixtures/${f}.avm`, import.meta.url), 'utf8')
const stub = (name: string, extra: Partial<Plugin> = {}): Plugin => ({ name, call: () => null, ...extra })
const registry = defaultRegistry([
  stub('LLama'),
  stub('TwitterAPI'),
  stub('sentimentModel_v2'),
  stub('DecisionModel'),
  stub('CriticModule'),
  stub('improve'),
  stub('TradingAPI'),
  stub('hpc', { opcodes: { HPC_EXTENDED_ANALYSIS: {}, NEW_PORTFOLIO: {} } }),
  stub('llm', { opcodes: { SEPARATE_PROMPT: {} } }),
  stub('web3', { opcodes: { WEB3_OP: {} } }),
])

describe('seed listings assemble and verify as written', () => {
  for (const f of ['rag-bot', 'trading-agent', 'swarm-flow']) {
    it(f, () => {
      const r = assemble(fx(f), { file: `${f}.avm`, ...registry.asmOptions() })
      expect(r.errors.map(formatDiagnostic)).toEqual([])
      expect(r.program?.code.length).toBeGreaterThan(3)
    })
  }
  it('without the plugins it names, the trading agent is rejected with positions', () => {
    const r = assemble(fx('trading-agent'), { file: 't.avm', ...defaultRegistry().asmOptions() })
    const msgs = r.errors.map(formatDiagnostic)
    expect(msgs.some((m) => /^t\.avm:\d+:\d+ unknown opcode 'SEPARATE_PROMPT'/.test(m))).toBe(true)
    expect(msgs.some((m) => m.includes("unknown plugin 'TwitterAPI'"))).toBe(true)
  })
})
