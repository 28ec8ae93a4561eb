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
import { type Constitution, ConstitutionGuard, type Usage } from './constitution.ts'
import type { RunResult } from './halts.ts'
import type { Economy, GatedAction, Host, Policy, Wallet } from './host.ts'
import { Machine } from './interp.ts'
import { PluginRegistry } from './plugins/builtin.ts'
import { exportTrace } from './run.ts'
import { restoreMachine, serializeState, VmStateError } from './state.ts'
import type { Value } from './values.ts'
import { KvWallet } from './wallet.ts'

/** Wall time after which a slice ends at the next host call (so waiting agents are checkpointed). */
const SLICE_MS = 100

export interface AgentRuntimeInit {
  /** Node storage for agents (checkpoints, KV, documents) and, by default, the wallet. */
  store: KvStore
  /**
   * Credits. Must write through the `KvTransaction` it is given, over `store`, so a
   * payment, the agent's storage writes and its checkpoint commit together.
   * @default new KvWallet(store)
   */
  wallet?: Wallet
  clock: Clock
  random: Random
  plugins?: PluginRegistry
  remote?: RemoteMessenger
  /** Gas per scheduling slice. @default 10000 */
  sliceGas?: number
  /** Operator policy for SECURITY_CHECK / CHECK_PERMISSIONS. */
  /** The economic opcodes' backend (the daemon's market and reputation). */
  economy?: Economy
  securityCheck?: (agentId: string, object: Value) => { ok: boolean; reason?: string }
  checkPermission?: (agentId: string, role: string, action: string) => boolean
  sleep?: (ms: number) => Promise<void>
  /**
   * Called whenever an agent checkpoint is written, with `put` adding records
   * to the same atomic batch (the agent host stores the host answers recorded
   * since the last checkpoint, for a whole-life trace).
   */
  onCheckpoint?: (agentId: string, machine: Machine, put: (key: string, value: Uint8Array) => void) => void
  /** Called when a machine is created for an agent (deploy, restore). */
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
  /** Record a trace (host answers + digest) for `exportTrace`; kept across restarts. */
  trace?: boolean
}

export type AgentStatus = 'running' | 'held' | 'done' | 'error' | 'stopped' | 'quarantined'

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
  trace: boolean
  inputs: Record<string, Value>
  machine: Machine | null
  guard: ConstitutionGuard
  wake: (() => void) | null
  loop: Promise<void> | null
  /** Host calls made at the last checkpoint. */
  savedCalls: number
}

export class AgentRuntime {
  readonly bus = new LocalBus()
  readonly wallet: Wallet
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
    this.wallet = init.wallet ?? new KvWallet(init.store)
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
    agent.trace = opts.trace === true
    agent.inputs = opts.inputs ?? {}
    if (opts.balance) {
      const w = this.wallet as Partial<KvWallet>
      if (typeof w.mint !== 'function')
        throw new VmStateError('BAD_STATE', 'this wallet cannot mint an initial balance')
      await w.mint.call(this.wallet, id, opts.balance)
    }
    agent.machine = new Machine({
      program: r.program,
      host: this.hostFor(agent),
      gasLimit: opts.gasLimit ?? 1_000_000,
      inputs: opts.inputs,
      asm: this.asmOptions(),
      deniedOpcodes: agent.guard.rules.deniedOpcodes,
      trace: agent.trace,
    })
    this.init.onMachine?.(id, agent.machine)
    this.bus.register(id)
    await this.saveMeta(agent)
    await this.checkpoint(agent, true)
    if (this.running) this.launch(agent)
    return id
  }

  private newAgent(
    id: string,
    name: string,
    constitution: Constitution,
    capabilities: string[],
    usage?: Usage,
  ): Agent {
    const now = this.clock.now()
    const a: Agent = {
      trace: false,
      inputs: {},
      info: { id, name, status: 'running', gasUsed: 0, result: null, capabilities, held: null, message: '' },
      machine: null,
      guard: new ConstitutionGuard(constitution, now, usage),
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
      authorize: (_id, action: GatedAction) => {
        const d = agent.guard.authorize(
          action,
          this.clock.now(),
          () => `${agent.info.id.slice(0, 8)}-${++this.actionSeq}`,
        )
        agent.info.held = agent.guard.held
        return d
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
      ...(this.init.economy ? { economy: this.init.economy } : {}),
      onCommit: (tx: KvTransaction) => {
        // the checkpoint and the constitution's usage commit in the same batch as the payment
        if (agent.machine) {
          tx.put(`ckpt/${agent.info.id}`, serializeState(agent.machine, true))
          this.init.onCheckpoint?.(agent.info.id, agent.machine, (k, v) => tx.put(k, v))
        }
        tx.put(`meta/${agent.info.id}`, this.metaBytes(agent))
      },
    }
  }

  /**
   * Persist the agent. Pure computation is deterministic, so a slice that made
   * no host call needs no checkpoint: after a crash it is simply re-executed.
   */
  private async checkpoint(a: Agent, force = false): Promise<boolean> {
    const m = a.machine
    if (!m || m.tx) return false
    if (!force && m.gate.calls === a.savedCalls) return false
    a.savedCalls = m.gate.calls
    const ops: KvOp[] = [{ type: 'put', key: `ckpt/${a.info.id}`, value: serializeState(m) }]
    this.init.onCheckpoint?.(a.info.id, m, (key, value) => ops.push({ type: 'put', key, value }))
    await this.store.batch(ops)
    return true
  }

  /** Resume every agent checkpointed in the store (after a restart); corrupt ones are quarantined. */
  async restore(): Promise<string[]> {
    const ids: string[] = []
    for await (const [k, v] of this.store.entries('ckpt/')) {
      const id = k.slice(5)
      if (this.agents.has(id)) continue
      let meta: {
        name: string
        constitution: Constitution
        stopped?: boolean
        message?: string
        trace?: boolean
        inputs?: Record<string, Value>
        usage?: Usage
      } = {
        name: id.slice(0, 8),
        constitution: {},
      }
      const mb = await this.store.get(`meta/${id}`)
      if (mb) meta = JSON.parse(new TextDecoder().decode(mb)) as typeof meta
      const a = this.newAgent(id, meta.name, meta.constitution, [], meta.usage)
      a.trace = meta.trace === true
      a.inputs = meta.inputs ?? {}
      try {
        a.machine = restoreMachine(v, this.hostFor(a), {
          asm: this.asmOptions(),
          deniedOpcodes: meta.constitution.deniedOpcodes,
          trace: a.trace,
        })
        this.init.onMachine?.(id, a.machine)
        a.info.capabilities = a.machine.program.capabilities
        a.info.gasUsed = a.machine.gasUsed
        const r = a.machine.result()
        if (r.status !== 'suspended') {
          a.info.status = r.status === 'ok' ? 'done' : 'error'
          a.info.result = r
        } else if (meta.stopped) {
          a.info.status = 'stopped'
          a.info.message = meta.message ?? 'stopped'
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
    if (a.loop) return // still in its loop (e.g. resumed while a host wait was in flight)
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
      // A slice also ends after a host call once it has lasted SLICE_MS: an agent that spends its
      // slices waiting (RECV_SWARM_MSG…) is checkpointed between messages, not every 10 000 gas.
      const t0 = performance.now()
      const r = await m.run(this.sliceGas, () => performance.now() - t0 > SLICE_MS)
      if (!this.running) return // stopped while waiting: keep the last checkpoint
      const used = m.gasUsed - before
      a.info.gasUsed = m.gasUsed
      const limit = a.guard.recordGas(used, this.clock.now())
      if (r.status !== 'suspended') {
        a.info.status = r.status === 'ok' ? 'done' : 'error'
        a.info.result = r
      } else if ((a.info.status as AgentStatus) === 'stopped') {
        // stopped by the operator during this slice
      } else if (m.suspend?.kind === 'approval') {
        a.info.status = 'held'
      } else if (limit !== null) {
        a.info.status = 'stopped'
        a.info.message = limit
      }
      const final = a.info.status === 'done' || a.info.status === 'error' || a.info.status === 'stopped'
      if (await this.checkpoint(a, final)) await this.saveMeta(a)
      if (final) return
      await new Promise<void>((r) => setImmediate(r))
    }
  }

  /** Release a held action; the agent re-executes it. */
  approve(agentId: string, actionId: string): boolean {
    const a = this.agents.get(agentId)
    if (!a?.guard.approve(actionId)) return false
    a.info.held = null
    a.info.status = 'running'
    a.wake?.()
    return true
  }

  /** Stop one agent at its next slice boundary (resumable with `resume`). */
  stopAgent(agentId: string, reason = 'stopped by operator'): boolean {
    const a = this.agents.get(agentId)
    if (!a || (a.info.status !== 'running' && a.info.status !== 'held')) return false
    a.info.status = 'stopped'
    a.info.message = reason
    a.wake?.()
    void this.saveMeta(a)
    return true
  }

  private metaBytes(a: Agent): Uint8Array {
    const meta = {
      name: a.info.name,
      constitution: a.guard.rules,
      usage: a.guard.usage,
      stopped: a.info.status === 'stopped',
      message: a.info.message,
      trace: a.trace,
      inputs: a.inputs,
    }
    return new TextEncoder().encode(JSON.stringify(meta))
  }

  private async saveMeta(a: Agent): Promise<void> {
    await this.store.put(`meta/${a.info.id}`, this.metaBytes(a))
  }

  /** Resume a stopped agent (e.g. after raising its limits). */
  resume(agentId: string): boolean {
    const a = this.agents.get(agentId)
    if (a?.info.status !== 'stopped') return false
    a.info.status = 'running'
    a.info.message = ''
    a.guard.resetRate(this.clock.now())
    void this.saveMeta(a)
    if (this.running) this.launch(a)
    return true
  }

  /**
   * The JSONL trace of an agent deployed with `trace: true`, since its deploy
   * or its last restore (the starting state is embedded). Replay it with
   * `replayTrace`. Not while the agent waits on a host call.
   */
  async exportTrace(agentId: string): Promise<string> {
    const a = this.agents.get(agentId)
    const m = a?.machine
    if (!a || !m) throw new VmStateError('BAD_STATE', `no agent ${agentId}`)
    return exportTrace(m, {
      file: m.program.file,
      source: m.startSource,
      agentId,
      gasLimit: m.gasLimit,
      inputs: a.inputs,
      asm: this.asmOptions(),
    })
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
