/**
 * `swarmd agent trace`: one JSONL trace of an agent's whole life, rebuilt by
 * re-executing its program from deploy against every recorded host answer
 * (kept across restarts by `HostRecords`). The rebuilt run must end exactly
 * where the live agent is (pc, gas, status); `verified` says it did. The
 * file replays with `swarmd vm replay`.
 */
import { type AgentRuntime, gasRules, traceFromRecords } from '../../vm/index.ts'
import type { AgentPlugins } from './plugins.ts'
import type { HostRecords } from './records.ts'

export interface AgentTrace {
  agentId: string
  /** Instructions in the trace. */
  steps: number
  /** The re-executed run ends where the live agent is. */
  verified: boolean
  /** The agent has finished (a trace of a live agent stops at its last host answer). */
  complete: boolean
  message: string
  jsonl: string
}

export async function exportAgentTrace(
  agentId: string,
  runtime: AgentRuntime,
  records: HostRecords,
  plugins: AgentPlugins,
): Promise<AgentTrace> {
  const start = await records.start(agentId)
  if (!start)
    return {
      agentId,
      steps: 0,
      verified: false,
      complete: false,
      message: 'no trace: the agent was not deployed through the agent service',
      jsonl: '',
    }
  const asm = plugins.asmOptions()
  const pluginGas = gasRules(plugins, plugins.names())
  const hostRecords = await records.all(agentId)
  const { jsonl, machine } = await traceFromRecords({ ...start, agentId, asm }, hostRecords, pluginGas)
  const live = runtime.machine(agentId)
  const info = runtime.inspect(agentId)
  const complete = info?.status === 'done' || info?.status === 'error'
  const r = machine.result()
  let verified = false
  let message: string
  if (!live) message = `the agent has no live state (${info?.status ?? 'unknown'}: ${info?.message ?? ''})`
  else {
    const lr = live.result()
    verified =
      machine.gasUsed === live.gasUsed && (complete ? machine.pc === live.pc && r.status === lr.status : true)
    message = verified
      ? `re-executed ${machine.trace?.steps ?? 0} instructions from deploy; ends where the agent is (gas ${live.gasUsed})`
      : `re-execution ended at gas ${machine.gasUsed}, the agent is at gas ${live.gasUsed}`
  }
  return { agentId, steps: machine.trace?.steps ?? 0, verified, complete, message, jsonl }
}
