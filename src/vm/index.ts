/**
 * The AVM: an assembly-style agent IR, its assembler/verifier, a gas-metered
 * interpreter with trace and replay, resumable state, and `AgentRuntime`
 * which hosts many agents on one node. Language reference: docs/avm.md.
 *
 * @example
 * ```ts
 * import { runSource, offlineHost } from '../vm/index.ts'
 * const { result } = await runSource('ADD 2, 3 -> R\nHALT R', { gas: 100 })
 * // result: { status: 'ok', gasUsed: 1, output: 5, halt: null }
 * ```
 */
export {
  type AsmOptions,
  type AsmResult,
  assemble,
  type PluginOpcodeDecl,
  type Program,
  type Region,
  verify,
} from './asm/assemble.ts'
export { type Diagnostic, formatDiagnostic } from './asm/parse.ts'
export { type BreedOptions, type BreedResult, breed } from './breed.ts'
export { LocalBus, type RemoteMessenger } from './bus.ts'
export { type Constitution, ConstitutionGuard, type Usage } from './constitution.ts'
export { cosine, EMBED_DIM, embedText } from './embedder.ts'
export { HALT, type Halt, type HaltReason, type RunResult, type RunStatus } from './halts.ts'
export type {
  CfpSpec,
  Decision,
  Economy,
  GatedAction,
  Host,
  Messenger,
  OfferSpec,
  Plugin,
  PluginHost,
  PluginRequest,
  Policy,
  SwarmMessage,
  TermsSpec,
  Wallet,
} from './host.ts'
export { DEFAULT_LIMITS, Machine, type MachineInit, type MachineLimits } from './interp.ts'
export { defaultRegistry, httpTool, localEmbedder, PluginRegistry, REDUCERS } from './plugins/builtin.ts'
export { loadPlugin, loadRegistry, type PluginConfig, type PluginDecl } from './plugins/loader.ts'
export type { HostRecord } from './gate.ts'
export {
  exportTrace,
  gasRules,
  offlineHost,
  type ReplayReport,
  replayTrace,
  runSource,
  type TraceSource,
  traceFromRecords,
} from './run.ts'
export {
  type AgentInfo,
  AgentRuntime,
  type AgentRuntimeInit,
  type AgentStatus,
  type DeployOptions,
} from './runtime.ts'
export { decodeState, encodeState, restoreMachine, serializeState, VmStateError } from './state.ts'
export { OPCODES, opcodeSpec } from './table.ts'
export { parseTrace } from './trace.ts'
export type { Value } from './values.ts'
export { KvWallet } from './wallet.ts'
