/**
 * The Host: everything outside the pure VM. Time, randomness, storage,
 * wallet, messaging, plugins and policy come through here; the VM records
 * every answer in the trace so a run can be replayed without the host.
 */
import type { KvStore, KvTransaction } from '../common/index.ts'
import type { Value } from './values.ts'

/** Credits held by agents. Integer amounts; `transfer` writes into the caller's transaction. */
export interface Wallet {
  balance(agent: string): Promise<number>
  /** Stage a transfer in `tx` (committed by the caller); throws on overdraft or a bad amount. */
  transfer(from: string, to: string, amount: number, tx: KvTransaction): Promise<void>
}

/** A message delivered to an agent's inbox. */
export interface SwarmMessage {
  from: string
  channel: string
  topic: string
  data: Value
  /** Set on replies: the topic/handle this answers. */
  re?: string
  reward?: number
  id: string
}

/** Agent-to-agent messaging (a local bus on one node; remote delivery through a RemoteMessenger). */
export interface Messenger {
  connect(agent: string, channel: string): Promise<boolean>
  /** Publish to every other member of `channel`; returns how many agents received it. */
  broadcast(agent: string, channel: string, topic: string, data: Value, reward: number): Promise<number>
  /** Send to one agent id or to a channel; returns whether anybody received it. */
  send(agent: string, to: string, topic: string, data: Value, reward: number): Promise<boolean>
  /** Reply to a received message (its sender gets it as a response to `re`). */
  reply(agent: string, to: string, re: string, data: Value): Promise<boolean>
  /** Ask the swarm for data; returns a handle for WAIT_FOR_RESPONSE. */
  fetch(agent: string, dataType: string, requestId: string): Promise<string>
  /** Responses collected for `handle`; resolves when all expected responses arrived or after `timeoutMs`. */
  waitResponse(agent: string, handle: string, timeoutMs: number): Promise<SwarmMessage[]>
  /** Next inbox message (or null after `timeoutMs`). */
  receive(agent: string, timeoutMs: number): Promise<SwarmMessage | null>
  /** Spawn a new agent from AVM source; returns its id. */
  fork(agent: string, source: string, channel: string, gas: number): Promise<string>
}

export interface PluginRequest {
  agentId: string
  /** The opcode that made the call (CALL_PLUGIN, READ_FROM_TOOL, MAP_MODEL_CALL, a plugin opcode...). */
  opcode: string
  func: string
  args: Value[]
  kwargs: Record<string, Value>
}

/** A plugin: a JS module the operator declares. Its gas rule is charged by the VM. */
export interface Plugin {
  name: string
  kind?: 'tool' | 'model' | 'reducer' | 'embedder' | 'plugin'
  description?: string
  /** Gas: `base + perKb * ceil(bytes of arguments / 1024)`, charged before the call. */
  gas?: { base: number; perKb?: number }
  /** Opcodes this plugin implements (e.g. SEPARATE_PROMPT). */
  opcodes?: Record<string, { minArgs?: number; maxArgs?: number; doc?: string }>
  call(req: PluginRequest): Promise<unknown> | unknown
}

export interface PluginHost {
  get(name: string): Plugin | undefined
  list(agentId: string): string[]
  /** Whether `agentId` may call plugin `name` (the per-agent allow-list). */
  allowed(agentId: string, name: string): boolean
}

export type Decision =
  { decision: 'allow' } | { decision: 'deny'; reason: string } | { decision: 'hold'; actionId: string }

/** An action the constitution may gate (spend, fork, self-modify, tool writes...). */
export interface GatedAction {
  kind: string
  amount?: number
  detail?: Value
}

export interface Policy {
  checkPermission(agentId: string, role: string, action: string): boolean
  /** The operator's SECURITY_CHECK policy over an object (e.g. a trade request). */
  securityCheck(agentId: string, object: Value): { ok: boolean; reason?: string }
  /** Constitution gate: allow, deny, or hold for operator approval. */
  authorize(agentId: string, action: GatedAction): Decision
}

/** A call for proposals (or a local auction) as an AVM program describes it. */
export interface CfpSpec {
  capability: string
  units: number
  /** Value of one unit to the requester (credits): the most it pays per unit. */
  reserve: number
  /** Bid window. */
  deadlineMs: number
  payload: Value
  mechanism: string
  negotiation: boolean
  resultTimeoutMs?: number
  /** Deterministic id (the same instruction re-executed after a crash gets the same id). */
  id: string
}

/** One XOR offer of a bid: `price` is the total for `units` units. */
export interface OfferSpec {
  units: number
  price: number
}

/** Terms of a negotiation as an AVM program gives them (NEGOTIATE): any subset; the rest is the requester's. */
export interface TermsSpec {
  /** Total price in credits. */
  price?: number
  /** Delivery time after the award, in ms. */
  deadlineMs?: number
  /** standard | premium | enterprise */
  quality?: string
  /** Share of the price paid up front, in whole percent. */
  upfrontPct?: number
}

/**
 * The market, escrow, reputation and stake (the economic opcodes). Only the
 * daemon provides it (offline `vm run` has no market); every answer is
 * recorded in the trace like any host answer. Methods that move credits take
 * a deterministic `id` derived from the agent and its gas counter, so the same
 * instruction re-executed after a crash is applied once.
 */
export interface Economy {
  /** Sign a CFP as `agent`, open its auction and send it on the router; returns the auction id. */
  cfp(agent: string, spec: CfpSpec): Promise<string>
  /** Open an auction offered only to this node's agents (not routed); returns its id. */
  auctionCreate(agent: string, spec: CfpSpec): Promise<string>
  /** Bid as `agent` on an auction it was offered; an empty list declines. Returns whether the bid was taken. */
  auctionBid(agent: string, auctionId: string, offers: OfferSpec[]): Promise<boolean>
  /** The auction's outcome once it is settled or after `waitMs` (clearing it now when `close`). */
  auctionSettle(agent: string, auctionId: string, waitMs: number, close: boolean): Promise<Value>
  /**
   * Answer a negotiation this agent takes part in as a winning bidder (`negotiationId` from its
   * `negotiate` message): `act` propose (with `terms`), accept or reject. Returns whether it was sent and taken.
   */
  negotiate(agent: string, negotiationId: string, act: string, terms: TermsSpec): Promise<boolean>
  /** Return the result of a task this agent won (`escrowId` from its task message). */
  taskResult(agent: string, escrowId: string, ok: boolean, output: Value): Promise<boolean>
  /** Lock `amount` of `agent`'s credits for `payee` until released, or refunded after `timeoutMs`. */
  escrowCreate(agent: string, id: string, payee: string, amount: number, timeoutMs: number): Promise<string>
  escrowRelease(agent: string, escrowId: string): Promise<boolean>
  escrowRefund(agent: string, escrowId: string): Promise<boolean>
  /** This node's view of an agent's reputation and stake. */
  reputationQuery(agent: string, subject: string): Promise<Value>
  /** Sign and publish a report about a task `agent` took part in. */
  reputationUpdate(agent: string, taskId: string, outcome: string, rating: number): Promise<boolean>
  /** Bond credits as stake; returns the bonded amount. */
  stakeLock(agent: string, id: string, amount: number): Promise<number>
  /** Start unbonding `amount` (all when null); returns `{ unbonding, bonded }`. */
  stakeRelease(agent: string, amount: number | null): Promise<Value>
}

export interface Host {
  readonly agentId: string
  /** Milliseconds (AVM time). */
  now(): number
  /** A float in [0, 1). */
  random(): number
  /** Resolve after `ms` of AVM time. */
  sleep(ms: number): Promise<void>
  /** VM storage root: agent KV under `a/<id>/kv/`, documents under `a/<id>/doc/`. The wallet writes to the same DB. */
  store: KvStore
  wallet: Wallet
  messenger: Messenger
  plugins: PluginHost
  policy: Policy
  /** The economic opcodes' backend (the daemon's market and reputation); absent offline. */
  economy?: Economy
  /** Called when a transaction is about to commit: add the agent checkpoint to the same atomic batch. */
  onCommit?(tx: KvTransaction): void
}
