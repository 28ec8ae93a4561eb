/**
 * `AgentService`: hosts AVM agents in the daemon. It runs the VM's
 * `AgentRuntime` over the node's LevelDB (`vm/`), pays through the node's
 * `Ledger` (`ledger/`, same atomic batches as the agents' checkpoints), gives
 * every agent an Ed25519 + X25519 identity sealed at rest, advertises the
 * capabilities of live agents in the DHT, resumes every agent after a restart
 * or a crash, and wires agents to the E2E service when the node has one.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import {
  type Clock,
  cryptoRandom,
  type Logger,
  type Random,
  SwarmdError,
  systemClock,
  UserError,
} from '../../common/index.ts'
import { AgentKeyStore, type AgentKeys, generateAgentKeys } from '../../e2e/index.ts'
import { Ledger } from '../../market/index.ts'
import {
  type AgentInfo,
  AgentRuntime,
  assemble,
  type Constitution,
  formatDiagnostic,
  type Value,
} from '../../vm/index.ts'
import type { NodeConfig } from '../config.ts'
import type { NodeService, SwarmNode } from '../node.ts'
import { AgentEconomy } from './economy.ts'
import { AgentPlugins, loadAgentPlugins } from './plugins.ts'
import { HostRecords } from './records.ts'
import { deliverInbound, E2EMessenger, type E2EService, isE2EService } from './remote.ts'
import { registerAgentRoutes } from './routes.ts'
import { type AgentTrace, exportAgentTrace } from './trace.ts'
import { VmStore } from './vm-store.ts'
import { SerialWallet } from './wallet.ts'

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const SYNC_INTERVAL_MS = 1000
const LIVE = new Set(['running', 'waiting', 'held'])
const enc = new TextEncoder()
const dec = new TextDecoder()

export interface AgentServiceInit {
  /** @default systemClock */
  clock?: Clock
  /** @default cryptoRandom (every draw is recorded in the agent's trace) */
  random?: Random
}

export interface DeployRequest {
  source: string
  /** File name used in verifier messages and traces. */
  file?: string
  name?: string
  gasLimit?: number
  /** Credits minted on the ledger for the new agent (logged with the reason). */
  balance?: number
  inputs?: Record<string, Value>
  /** Constitution overrides (0: no limit). */
  spendPerDay?: number
  gasPerDay?: number
  maxGasPerMinute?: number
  approvalRequired?: string[]
  deniedOpcodes?: string[]
}

export interface AgentSummary extends AgentInfo {
  balance: number
  file: string
  createdAt: number
}

interface HostMeta {
  name: string
  file: string
  createdAt: number
  /** Stopped by the operator: stays stopped across restarts until resumed. */
  stopped: boolean
}

export class AgentService implements NodeService {
  readonly name = 'agents'
  private readonly clock: Clock
  private readonly random: Random
  private node: SwarmNode | undefined
  private log: Logger | undefined
  private rt: AgentRuntime | undefined
  private ledgerRef: Ledger | undefined
  private wallet: SerialWallet | undefined
  private pluginsRef: AgentPlugins | undefined
  private store: VmStore | undefined
  private keyStore: AgentKeyStore | undefined
  private records: HostRecords | undefined
  private e2e: E2EService | undefined
  private economy: AgentEconomy | undefined
  private readonly meta = new Map<string, HostMeta>()
  private readonly keys = new Map<string, AgentKeys>()
  /** Capabilities this service asked discovery to provide. */
  private provided = new Set<string>()
  private readonly endpoints = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined
  private syncing: Promise<void> = Promise.resolve()
  private routesRegistered = false
  private started = false
  /** Milliseconds from `start()` to every agent restored and scheduled. */
  resumeMs = 0

  constructor(init: AgentServiceInit = {}) {
    this.clock = init.clock ?? systemClock
    this.random = init.random ?? cryptoRandom
  }

  get runtime(): AgentRuntime {
    return need(this.rt)
  }
  get ledger(): Ledger {
    return need(this.ledgerRef)
  }
  private get cfg(): NodeConfig['agents'] {
    return need(this.node).config.agents
  }

  async start(node: SwarmNode): Promise<void> {
    if (this.started) return
    const t0 = performance.now()
    this.node = node
    this.log = node.logger.forComponent('swarmd:agents')
    const cfg = node.config.agents
    const store = new VmStore(node.kv)
    this.store = store
    this.ledgerRef = new Ledger({ store: node.kv, clock: this.clock, node: node.peerId })
    const plugins = await loadAgentPlugins(cfg.plugins, cfg.allow, node.repo.root)
    plugins.nameOf = (id) => this.meta.get(id)?.name
    this.pluginsRef = plugins
    const secret = sha256(
      Uint8Array.from([...enc.encode('swarmd/agents/key-seal/v1\0'), ...node.repo.privateKey.raw]),
    )
    this.keyStore = new AgentKeyStore(store.sublevel('agent-keys/'), secret)
    this.records = new HostRecords(store)
    await this.records.load()
    const e2e = node.service('e2e')
    this.e2e = isE2EService(e2e) ? e2e : undefined
    const wallet = new SerialWallet(this.ledgerRef, store)
    this.wallet = wallet
    this.economy = new AgentEconomy(
      node,
      () => this.runtime.bus,
      (id) => this.keys.get(id),
      this.log,
    )
    this.rt = new AgentRuntime({
      economy: this.economy,
      store,
      clock: this.clock,
      random: this.random,
      plugins,
      wallet,
      sliceGas: cfg.sliceGas,
      // Unreferenced timers: an agent waiting in RECV_SWARM_MSG or WAIT must not keep a stopped daemon alive.
      sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms).unref()),
      onCheckpoint: this.records.stage,
      onMachine: this.records.attach,
      ...(this.e2e ? { remote: new E2EMessenger(this.e2e, this.log) } : {}),
    })
    // FORK_AGENT: children are deployed like any agent (identity, ledger account, trace, capabilities)
    const rt = this.rt
    rt.bus.spawn = async (parent, source, channel, gas) => {
      const child = await this.deploy({
        source,
        file: `fork-of-${parent.slice(0, 8)}.avm`,
        gasLimit: gas > 0 ? gas : undefined,
      })
      if (channel) await rt.bus.connect(child.id, channel)
      return child.id
    }
    if (!this.routesRegistered) {
      registerAgentRoutes(node.control, this)
      this.routesRegistered = true
    }
    for await (const [k, v] of store.entries('host/'))
      this.meta.set(k.slice(5), JSON.parse(dec.decode(v)) as HostMeta)
    const provided = await store.get('host-caps')
    if (provided) this.provided = new Set(JSON.parse(dec.decode(provided)) as string[])

    const ids = await this.rt.restore()
    for (const id of ids) {
      const info = this.rt.inspect(id)
      if (info?.status === 'quarantined')
        this.log.error('agent quarantined', { agent: id, name: info.name, reason: info.message })
      if (this.meta.get(id)?.stopped) this.rt.stopAgent(id)
      try {
        const k = await this.keyStore.load(id)
        if (k) this.keys.set(id, k)
      } catch (err) {
        this.log.error('agent keys unreadable', { agent: id, error: err })
      }
    }
    this.rt.start()
    this.started = true
    this.resumeMs = performance.now() - t0
    this.log.info('agents resumed', { agents: ids.length, ms: Math.round(this.resumeMs) })
    await this.sync()
    this.timer = setInterval(() => void this.sync(), SYNC_INTERVAL_MS)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.timer) clearInterval(this.timer)
    await this.syncing
    await this.runtime.stop()
    for (const id of this.endpoints) await this.e2e?.unregisterAgent(id).catch(() => {})
    this.endpoints.clear()
    // Capabilities stay recorded (host-caps) so the next start withdraws those of agents that ended.
  }

  // ------------------------------------------------------------ operations

  async deploy(req: DeployRequest): Promise<AgentSummary> {
    const rt = this.runtime
    const d = this.cfg.defaults
    if (typeof req.source !== 'string' || req.source.length === 0) throw new UserError('empty program')
    const file = req.file ?? 'agent.avm'
    if (req.name !== undefined && !NAME_RE.test(req.name))
      throw new UserError(`agent name must match ${NAME_RE}, got ${JSON.stringify(req.name)}`)
    if (req.name !== undefined && [...this.meta.values()].some((m) => m.name === req.name))
      throw new UserError(`an agent named ${req.name} already exists`)
    const balance = req.balance ?? 0
    if (!Number.isSafeInteger(balance) || balance < 0)
      throw new UserError('--balance must be an integer >= 0')
    if (balance > d.maxDeployBalance)
      throw new UserError(
        `--balance ${balance} is above agents.defaults.maxDeployBalance (${d.maxDeployBalance})`,
      )
    const gasLimit = req.gasLimit ?? d.gasLimit
    if (!Number.isSafeInteger(gasLimit) || gasLimit <= 0)
      throw new UserError('--gas-limit must be a positive integer')
    const asm = need(this.pluginsRef).asmOptions()
    const r = assemble(req.source, { ...asm, file })
    if (!r.program)
      throw new SwarmdError('VERIFY_FAILED', r.errors.map(formatDiagnostic).join('\n'), {
        payload: r.errors.map(formatDiagnostic),
      })
    const keys = generateAgentKeys()
    const id = keys.agentId
    const name = req.name ?? id.slice(0, 8)
    await need(this.keyStore).save(keys)
    this.keys.set(id, keys)
    if (balance > 0) {
      await need(this.wallet).mint(id, balance, `deploy ${name}: --balance ${balance}`, `deploy/${id}`)
      this.log?.info('minted credits for a new agent', { agent: id, name, amount: balance })
    }
    const inputs = req.inputs ?? {}
    // the runtime assembles the program under the agent's name (its checkpoints carry it)
    await need(this.records).saveStart(id, { file: name, source: req.source, gasLimit, inputs })
    const meta: HostMeta = { name, file, createdAt: this.clock.now(), stopped: false }
    await this.putMeta(id, meta)
    // reachable from other nodes before its first instruction runs
    await this.register(id, keys, r.program.capabilities)
    await rt.deploy(req.source, {
      name,
      gasLimit,
      inputs,
      seed: keys.signing.secretKey,
      constitution: this.constitution(req),
      trace: this.cfg.trace,
    })
    this.log?.info('agent deployed', { agent: id, name, file, capabilities: r.program.capabilities })
    await this.sync()
    return this.summary(id)
  }

  private constitution(req: DeployRequest): Constitution {
    const d = this.cfg.defaults
    const lim = (x: number | undefined, def: number) => {
      const v = x ?? def
      return v > 0 ? v : undefined
    }
    const c: Constitution = {
      approvalRequired: req.approvalRequired ?? d.approvalRequired,
      deniedOpcodes: req.deniedOpcodes ?? d.deniedOpcodes,
    }
    const spend = lim(req.spendPerDay, d.spendPerDay)
    const gas = lim(req.gasPerDay, d.gasPerDay)
    const rate = lim(req.maxGasPerMinute, d.maxGasPerMinute)
    if (spend !== undefined) c.spendPerDay = spend
    if (gas !== undefined) c.gasPerDay = gas
    if (rate !== undefined) c.maxGasPerMinute = rate
    return c
  }

  /** An agent id from an id, a unique id prefix (4+ hex chars) or a name. */
  resolve(ref: string): string {
    const rt = this.runtime
    if (rt.inspect(ref)) return ref
    const byName = rt.list().filter((a) => a.name === ref)
    if (byName.length === 1) return (byName[0] as AgentInfo).id
    if (/^[0-9a-f]{4,63}$/.test(ref)) {
      const m = rt.list().filter((a) => a.id.startsWith(ref))
      if (m.length === 1) return (m[0] as AgentInfo).id
      if (m.length > 1) throw new UserError(`agent id prefix ${ref} is ambiguous`)
    }
    throw new SwarmdError('NOT_FOUND', `no agent ${JSON.stringify(ref)} (use an id, an id prefix or a name)`)
  }

  async summary(id: string): Promise<AgentSummary> {
    const info = this.runtime.inspect(id)
    if (!info) throw new SwarmdError('NOT_FOUND', `no agent ${id}`)
    const m = this.meta.get(id)
    return {
      ...info,
      // live value: an agent waiting in a host call has not finished its slice
      gasUsed: this.runtime.machine(id)?.gasUsed ?? info.gasUsed,
      balance: await this.ledger.balance(id),
      file: m?.file ?? '',
      createdAt: m?.createdAt ?? 0,
    }
  }

  async list(): Promise<AgentSummary[]> {
    return Promise.all(this.runtime.list().map((a) => this.summary(a.id)))
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    const id = this.resolve(ref)
    const s = await this.summary(id)
    const m = this.runtime.machine(id)
    if (!m) return { ...s, machine: null }
    const registers: Record<string, Value> = {}
    m.program.regNames.forEach((n, i) => {
      const v = m.regs[i] ?? null
      if (v !== null && n !== '_') registers[n] = v
    })
    return {
      ...s,
      machine: {
        pc: m.pc,
        line: m.program.code[m.pc]?.line ?? null,
        gasUsed: m.gasUsed,
        gasLeft: m.gasLeft,
        gasLimit: m.gasLimit,
        registers,
        callStack: m.callStack,
        observer: m.observer,
        regions: m.program.regions.map((r) => ({
          name: r.name,
          mode: r.mode,
          line: r.line,
          endLine: r.endLine,
        })),
        limits: m.limits,
        lastHalt: m.halt,
        logs: m.logs.slice(-20),
        pending: m.pending,
      },
      pendingApprovals: s.held ? [s.held] : [],
    }
  }

  async stopAgent(ref: string): Promise<AgentSummary> {
    const id = this.resolve(ref)
    if (!this.runtime.stopAgent(id))
      throw new UserError(`agent ${id.slice(0, 8)} is ${this.runtime.inspect(id)?.status}, not running`)
    await this.setStopped(id, true)
    await this.sync()
    return this.summary(id)
  }

  async resumeAgent(ref: string): Promise<AgentSummary> {
    const id = this.resolve(ref)
    if (!this.runtime.resume(id))
      throw new UserError(`agent ${id.slice(0, 8)} is ${this.runtime.inspect(id)?.status}, not stopped`)
    await this.setStopped(id, false)
    await this.sync()
    return this.summary(id)
  }

  async approve(ref: string, actionId: string): Promise<AgentSummary> {
    const id = this.resolve(ref)
    if (!this.runtime.approve(id, actionId)) {
      const held = this.runtime.inspect(id)?.held
      throw new UserError(
        held
          ? `agent ${id.slice(0, 8)} holds action ${held.actionId}, not ${actionId}`
          : `agent ${id.slice(0, 8)} has no action waiting for approval`,
      )
    }
    this.log?.info('action approved', { agent: id, actionId })
    return this.summary(id)
  }

  async trace(ref: string): Promise<AgentTrace> {
    const id = this.resolve(ref)
    return exportAgentTrace(id, this.runtime, need(this.records), need(this.pluginsRef))
  }

  /** The keys of a hosted agent (the market signs its CFPs, bids and results with them). */
  agentKeys(id: string): AgentKeys | undefined {
    return this.keys.get(id)
  }

  // ------------------------------------------------------------ DHT + E2E

  private async setStopped(id: string, stopped: boolean): Promise<void> {
    const m = this.meta.get(id)
    if (m) await this.putMeta(id, { ...m, stopped })
  }

  private async putMeta(id: string, m: HostMeta): Promise<void> {
    this.meta.set(id, m)
    await need(this.store).put(`host/${id}`, enc.encode(JSON.stringify(m)))
  }

  /** Register an agent as an endpoint of the E2E service (when the node runs one). */
  private async register(id: string, keys: AgentKeys, capabilities: string[]): Promise<void> {
    if (!this.e2e || this.endpoints.has(id)) return
    this.endpoints.add(id)
    try {
      await this.e2e.registerAgent({
        agentId: id,
        keys,
        capabilities,
        onMessage: (msg) => {
          deliverInbound(this.runtime.bus, msg, need(this.log))
        },
      })
    } catch (err) {
      this.endpoints.delete(id)
      this.log?.warn('agent not registered for E2E messaging', { agent: id, error: err })
    }
  }

  /** Advertise the capabilities of live agents, withdraw the others; (un)register E2E endpoints. */
  sync(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.doSync())
      .catch((err: unknown) => {
        this.log?.warn('agent sync failed', { error: err })
      })
    return this.syncing
  }

  private async doSync(): Promise<void> {
    const node = need(this.node)
    const live = this.runtime.list().filter((a) => LIVE.has(a.status))
    const want = new Set(live.flatMap((a) => a.capabilities))
    let changed = false
    for (const c of want) {
      if (this.provided.has(c)) continue
      this.provided.add(c)
      changed = true
      node.discovery.provide(c).catch((err: unknown) => {
        this.log?.debug('capability recorded, not yet announced', { capability: c, error: err })
      })
    }
    for (const c of [...this.provided]) {
      if (want.has(c)) continue
      this.provided.delete(c)
      changed = true
      await node.discovery.withdraw(c).catch(() => false)
    }
    if (changed) await need(this.store).put('host-caps', enc.encode(JSON.stringify([...this.provided])))
    if (!this.e2e) return
    // live agents bid for the CFPs of their capabilities (needs their E2E endpoint: bids are sealed)
    this.economy?.syncBidders(
      new Map(live.filter((a) => a.capabilities.length > 0).map((a) => [a.id, a.capabilities])),
    )
    const liveIds = new Set(live.map((a) => a.id))
    for (const a of live) {
      const keys = this.keys.get(a.id)
      if (keys) await this.register(a.id, keys, a.capabilities)
    }
    for (const id of [...this.endpoints]) {
      if (liveIds.has(id)) continue
      // Asked again now: an agent deployed meanwhile is registered before the runtime knows it
      // (unknown) or became live after `live` was read; unregistering it would lose its card.
      const status = this.runtime.inspect(id)?.status
      if (status === undefined || LIVE.has(status)) continue
      await this.e2e.unregisterAgent(id).catch(() => {})
      this.endpoints.delete(id)
    }
  }
}

function need<T>(v: T | undefined): T {
  if (v === undefined) throw new SwarmdError('UNAVAILABLE', 'the agent service is not started')
  return v
}
