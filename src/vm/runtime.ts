/**
 * `AgentRuntime`: many agents on one node. Each agent runs in gas slices and
 * yields to the event loop between slices, so none can starve the others; an
 * agent waiting on a host call does not block anyone. Agents talk through a
 * `LocalBus` (remote delivery via `RemoteMessenger`). After every slice the
 * agent is checkpointed to the KvStore (payments write the checkpoint in the
 * same atomic batch), so a killed node resumes every agent. A corrupted
 * checkpoint quarantines only that agent. The per-agent constitution limits
 * spend and gas per day, opcodes and plugins, holds gated actions until
 * `approve`, and stops an agent whose gas rate is abnormal.
 */
import {
  type Clock,
  type KvOp,
  type KvStore,
  type KvTransaction,
  type Random,
  signingKeyFromSeed,
  toHex,
} from '../common/index.ts'
import { type AsmOptions, assemble } from './asm/assemble.ts'
import { formatDiagnostic } from './asm/parse.ts'
import { LocalBus, type RemoteMessenger } from './bus.ts'
import type { RunResult } from './halts.ts'
import type { Decision, GatedAction, Host, Policy, Wallet } from './host.ts'
import { Machine } from './interp.ts'
import { PluginRegistry } from './plugins/builtin.ts'
import { restoreMachine, serializeState, VmStateError } from './state.ts'
import type { Value } from './values.ts'
import { KvWallet } from './wallet.ts'

const DAY_MS = 24 * 3600 * 1000

export interface Constitution {
  /** Credits an agent may pay per day. @default Infinity */
  spendPerDay?: number
  /** Gas an agent may use per day. @default Infinity */
  gasPerDay?: number
  /** Opcodes the agent may not execute. */
  deniedOpcodes?: string[]
  /** Action kinds (pay, fork, self_modify, tool_write) held for operator approval. */
  approvalRequired?: string[]
  /** Anomaly stop: more than this much gas within one minute of clock time. @default Infinity */
  maxGasPerMinute?: number
}

export interface AgentRuntimeInit {
  store: KvStore
  clock: Clock
  random: Random
  plugins?: PluginRegistry
  remote?: RemoteMessenger
  /** Gas per scheduling slice. @default 10000 */
  sliceGas?: number
  /** Operator policy for SECURITY_CHECK / CHECK_PERMISSIONS. */
  securityCheck?: (agentId: string, object: Value) => { ok: boolean; reason?: string }
  checkPermission?: (agentId: string, role: string, action: string) => boolean
  sleep?: (ms: number) => Promise<void>
  /** The wallet agents pay through (e.g. the node's ledger). @default a `KvWallet` over `store` */
  wallet?: Wallet
  /** Credits `DeployOptions.balance` (needed with an injected wallet). @default `KvWallet.mint` */
  mint?: (agentId: string, amount: number) => Promise<unknown>
  /** Record every host answer (trace/replay) in the agents' machines. @default false */
  trace?: boolean
  /**
   * Called whenever an agent checkpoint is written, with `put` adding records
   * to the same atomic batch (e.g. the host answers recorded since the last one).
   */
  onCheckpoint?: (agentId: string, machine: Machine, put: (key: string, value: Uint8Array) => void) => void
  /** Called when a machine is created (deploy, restore, fork). */
  onMachine?: (agentId: string, machine: Machine) => void
}

export interface DeployOptions {
  name?: string
  gasLimit?: number
  balance?: number
  inputs?: Record<string, Value>
  constitution?: Constitution
  /** 32-byte seed for the agent key (default: from the runtime's Random). */
  seed?: Uint8Array
}

export type AgentStatus = 'running' | 'waiting' | 'held' | 'done' | 'error' | 'stopped' | 'quarantined'

export interface AgentInfo {
  id: string
  name: string
  status: AgentStatus
  gasUsed: number
  result: RunResult | null
  capabilities: string[]
  held: { actionId: string; action: string } | null
  message: string
}

interface Agent {
  info: AgentInfo
  machine: Machine | null
  constitution: Constitution
  approved: Set<string>
  day: { start: number; spent: number; gas: number }
  minute: { start: number; gas: number }
  wake: (() => void) | null
  loop: Promise<void> | null
  /** Host calls made at the last checkpoint. */
  savedCalls: number
}

export class AgentRuntime {
  readonly bus = new LocalBus()
  readonly wallet: Wallet
  private readonly mint: (agentId: string, amount: number) => Promise<unknown>
  readonly plugins: PluginRegistry
  private readonly store: KvStore
  private readonly clock: Clock
  private readonly random: Random
  private readonly sliceGas: number
  private readonly agents = new Map<string, Agent>()
  private readonly init: AgentRuntimeInit
  private running = false
  private readonly loops = new Set<Promise<void>>()
  private actionSeq = 0

  constructor(init: AgentRuntimeInit) {
    this.init = init
    this.store = init.store
    this.clock = init.clock
    this.random = init.random
    this.sliceGas = init.sliceGas ?? 10_000
    const kvWallet = new KvWallet(init.store)
    this.wallet = init.wallet ?? kvWallet
    this.mint =
      init.mint ??
      (init.wallet
        ? async () => {
            throw new VmStateError('BAD_STATE', 'this runtime cannot mint: pass `mint` with the wallet')
          }
        : (id, amount) => kvWallet.mint(id, amount))
    this.plugins = init.plugins ?? new PluginRegistry()
    if (init.remote) this.bus.remote = init.remote
    if (init.sleep) this.bus.sleep = init.sleep
    this.bus.spawn = async (_parent, source, channel, gas) => {
      const id = await this.deploy(source, { gasLimit: gas })
      if (channel) await this.bus.connect(id, channel)
      return id
    }
  }

  private asmOptions(): AsmOptions {
    return this.plugins.asmOptions()
  }

  /** Assemble, verify and start an agent; returns its id. Throws with file:line:col errors on a bad program. */
  async deploy(source: string, opts: DeployOptions = {}): Promise<string> {
    const r = assemble(source, { ...this.asmOptions(), file: opts.name ?? 'agent.avm' })
    if (!r.program) throw new VmStateError('BAD_STATE', r.errors.map(formatDiagnostic).join('\n'))
    const seed = opts.seed ?? Uint8Array.from({ length: 32 }, () => this.random.int(256))
    const id = toHex(signingKeyFromSeed(seed).publicKey)
    const agent = this.newAgent(
      id,
      opts.name ?? id.slice(0, 8),
      opts.constitution ?? {},
      r.program.capabilities,
    )
    if (opts.balance) await this.mint(id, opts.balance)
    agent.machine = new Machine({
      program: r.program,
      host: this.hostFor(agent),
      gasLimit: opts.gasLimit ?? 1_000_000,
      inputs: opts.inputs,
      asm: this.asmOptions(),
      deniedOpcodes: agent.constitution.deniedOpcodes,
      trace: this.init.trace,
    })
    this.init.onMachine?.(id, agent.machine)
    this.bus.register(id)
    await this.store.put(
      `meta/${id}`,
      new TextEncoder().encode(JSON.stringify({ name: agent.info.name, constitution: agent.constitution })),
    )
    await this.checkpoint(agent, true)
    if (this.running) this.launch(agent)
    return id
  }

  private newAgent(id: string, name: string, constitution: Constitution, capabilities: string[]): Agent {
    const now = this.clock.now()
    const a: Agent = {
      info: { id, name, status: 'running', gasUsed: 0, result: null, capabilities, held: null, message: '' },
      machine: null,
      constitution,
      approved: new Set(),
      day: { start: now, spent: 0, gas: 0 },
      minute: { start: now, gas: 0 },
      wake: null,
      loop: null,
      savedCalls: -1,
    }
    this.agents.set(id, a)
    return a
  }

  private policyFor(agent: Agent): Policy {
    return {
      checkPermission: (id, role, action) => this.init.checkPermission?.(id, role, action) ?? true,
      securityCheck: (id, obj) => this.init.securityCheck?.(id, obj) ?? { ok: true },
      authorize: (_id, action: GatedAction): Decision => {
        const c = agent.constitution
        const key = `${action.kind}:${JSON.stringify(action.detail ?? null)}:${action.amount ?? 0}`
        if (action.kind === 'pay' && action.amount !== undefined) {
          this.rollDay(agent)
          if (agent.day.spent + action.amount > (c.spendPerDay ?? Number.POSITIVE_INFINITY)) {
            return { decision: 'deny', reason: `spend limit ${c.spendPerDay} per day` }
          }
        }
        if ((c.approvalRequired ?? []).includes(action.kind) && !agent.approved.has(key)) {
          const actionId = `${agent.info.id.slice(0, 8)}-${++this.actionSeq}`
          agent.info.held = { actionId, action: key }
          return { decision: 'hold', actionId }
        }
        agent.approved.delete(key)
        if (action.kind === 'pay') agent.day.spent += action.amount ?? 0
        return { decision: 'allow' }
      },
    }
  }

  private hostFor(agent: Agent): Host {
    return {
      agentId: agent.info.id,
      now: () => this.clock.now(),
      random: () => this.random.next(),
      sleep: (ms) => this.bus.sleep(ms),
      store: this.store,
      wallet: this.wallet,
      messenger: this.bus,
      plugins: this.plugins,
      policy: this.policyFor(agent),
      onCommit: (tx: KvTransaction) => {
        if (!agent.machine) return
        tx.put(`ckpt/${agent.info.id}`, serializeState(agent.machine, true))
        this.init.onCheckpoint?.(agent.info.id, agent.machine, (k, v) => tx.put(k, v))
      },
    }
  }

  private rollDay(a: Agent): void {
    const now = this.clock.now()
    if (now - a.day.start >= DAY_MS) a.day = { start: now, spent: 0, gas: 0 }
  }

  /**
   * Persist the agent. Pure computation is deterministic, so a slice that made
   * no host call needs no checkpoint: after a crash it is simply re-executed.
   */
  private async checkpoint(a: Agent, force = false): Promise<void> {
    const m = a.machine
    if (!m || m.tx) return
    if (!force && m.gate.calls === a.savedCalls) return
    a.savedCalls = m.gate.calls
    const ops: KvOp[] = [{ type: 'put', key: `ckpt/${a.info.id}`, value: serializeState(m) }]
    this.init.onCheckpoint?.(a.info.id, m, (key, value) => ops.push({ type: 'put', key, value }))
    await this.store.batch(ops)
  }

  /** Resume every agent checkpointed in the store (after a restart); corrupt ones are quarantined. */
  async restore(): Promise<string[]> {
    const ids: string[] = []
    for await (const [k, v] of this.store.entries('ckpt/')) {
      const id = k.slice(5)
      if (this.agents.has(id)) continue
      let meta: { name: string; constitution: Constitution } = { name: id.slice(0, 8), constitution: {} }
      const mb = await this.store.get(`meta/${id}`)
      if (mb) meta = JSON.parse(new TextDecoder().decode(mb)) as typeof meta
      const a = this.newAgent(id, meta.name, meta.constitution, [])
      try {
        a.machine = restoreMachine(v, this.hostFor(a), {
          asm: this.asmOptions(),
          deniedOpcodes: meta.constitution.deniedOpcodes,
          trace: this.init.trace,
        })
        this.init.onMachine?.(id, a.machine)
        a.info.capabilities = a.machine.program.capabilities
        a.info.gasUsed = a.machine.gasUsed
        const r = a.machine.result()
        if (r.status !== 'suspended') {
          a.info.status = r.status === 'ok' ? 'done' : 'error'
          a.info.result = r
        }
      } catch (e) {
        a.info.status = 'quarantined'
        a.info.message = `checkpoint unreadable: ${e instanceof Error ? e.message : String(e)}`
      }
      this.bus.register(id)
      ids.push(id)
      if (this.running) this.launch(a)
    }
    return ids
  }

  start(): void {
    if (this.running) return
    this.running = true
    for (const a of this.agents.values()) this.launch(a)
  }

  /**
   * Stop scheduling. Agents finish their current slice; an agent blocked in a
   * host wait (RECV, WAIT_FOR_RESPONSE, WAIT) is abandoned: its checkpoint
   * (taken before that instruction) re-executes the wait on the next start.
   */
  async stop(): Promise<void> {
    this.running = false
    for (const a of this.agents.values()) a.wake?.()
    const busy = [...this.agents.values()].filter((a) => a.loop && !a.machine?.pending).map((a) => a.loop)
    await Promise.all(busy)
  }

  private launch(a: Agent): void {
    if (a.info.status !== 'running' && a.info.status !== 'held') return
    if (a.loop) return // still in its loop (e.g. resumed while a wait was in flight)
    const p = this.loop(a).finally(() => {
      this.loops.delete(p)
      if (a.loop === p) a.loop = null
    })
    a.loop = p
    this.loops.add(p)
  }

  private async loop(a: Agent): Promise<void> {
    while (this.running && a.machine) {
      if (a.info.status === 'held') {
        await new Promise<void>((r) => {
          a.wake = r
        })
        a.wake = null
        continue
      }
      if (a.info.status !== 'running') return
      const m = a.machine
      const before = m.gasUsed
      const r = await m.run(this.sliceGas)
      if (!this.running) return // stopped while waiting: keep the last checkpoint
      if ((a.info.status as AgentStatus) === 'stopped' && r.status === 'suspended' && !m.suspend) {
        a.info.gasUsed = m.gasUsed
        await this.checkpoint(a)
        return // stopped by the operator during the slice
      }
      const used = m.gasUsed - before
      a.info.gasUsed = m.gasUsed
      this.rollDay(a)
      a.day.gas += used
      const now = this.clock.now()
      if (now - a.minute.start >= 60_000) a.minute = { start: now, gas: 0 }
      a.minute.gas += used
      if (r.status !== 'suspended') {
        a.info.status = r.status === 'ok' ? 'done' : 'error'
        a.info.result = r
      } else if (m.suspend?.kind === 'approval') {
        a.info.status = 'held'
      } else if (a.day.gas > (a.constitution.gasPerDay ?? Number.POSITIVE_INFINITY)) {
        a.info.status = 'stopped'
        a.info.message = `gas per day limit ${a.constitution.gasPerDay} reached`
      } else if (a.minute.gas > (a.constitution.maxGasPerMinute ?? Number.POSITIVE_INFINITY)) {
        a.info.status = 'stopped'
        a.info.message = `anomaly stop: ${a.minute.gas} gas within a minute`
      }
      const final = a.info.status === 'done' || a.info.status === 'error' || a.info.status === 'stopped'
      await this.checkpoint(a, final)
      if (final) return
      await new Promise<void>((r) => setImmediate(r))
    }
  }

  /** Release a held action; the agent re-executes it. */
  approve(agentId: string, actionId: string): boolean {
    const a = this.agents.get(agentId)
    if (!a?.info.held || a.info.held.actionId !== actionId) return false
    a.approved.add(a.info.held.action)
    a.info.held = null
    a.info.status = 'running'
    a.wake?.()
    return true
  }

  /** Stop one agent (operator): it ends its current slice and is not scheduled until `resume`. */
  stopAgent(agentId: string, message = 'stopped by the operator'): boolean {
    const a = this.agents.get(agentId)
    if (a?.info.status !== 'running' && a?.info.status !== 'held' && a?.info.status !== 'waiting')
      return false
    a.info.status = 'stopped'
    a.info.message = message
    a.wake?.()
    return true
  }

  /** Resume a stopped agent (e.g. after raising its limits). */
  resume(agentId: string): boolean {
    const a = this.agents.get(agentId)
    if (a?.info.status !== 'stopped') return false
    a.info.status = 'running'
    a.info.message = ''
    a.minute = { start: this.clock.now(), gas: 0 }
    if (this.running) this.launch(a)
    return true
  }

  list(): AgentInfo[] {
    return [...this.agents.values()].map((a) => ({ ...a.info }))
  }
  inspect(agentId: string): AgentInfo | undefined {
    const a = this.agents.get(agentId)
    return a ? { ...a.info } : undefined
  }
  machine(agentId: string): Machine | null {
    return this.agents.get(agentId)?.machine ?? null
  }
  /** Wait until no agent is running (all done, errored, held, stopped or quarantined). */
  async idle(): Promise<void> {
    while ([...this.loops].length > 0) await Promise.race([...this.loops])
  }
}
