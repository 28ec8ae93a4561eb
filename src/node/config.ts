/**
 * The node's configuration: one JSON file (`<repo>/config.json`), every key
 * documented here with its default, validated once by `parseConfig`. An
 * unknown key or a bad value is refused with a message naming the key and the
 * expected value. CLI flags map onto the same paths through `applyOverrides`.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { UserError } from '../common/index.ts'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
export type NodeLogLevel = (typeof LOG_LEVELS)[number]
export const UNKNOWN_TASK_POLICIES = ['hold', 'accept-co-signed', 'accept'] as const
export type UnknownTaskPolicy = (typeof UNKNOWN_TASK_POLICIES)[number]
/** Built-in deterministic tasks of the config-driven JS providers (src/node/market/provider.ts). */
export const MARKET_TASKS = ['echo', 'uppercase', 'word-count'] as const
export type MarketTask = (typeof MARKET_TASKS)[number]
/** Concession strategies of the daemon's negotiators (src/market/terms.ts). */
export const NEGOTIATION_STRATEGIES = ['boulware', 'linear', 'conceder', 'tit-for-tat'] as const
export type NegotiationStrategyName = (typeof NEGOTIATION_STRATEGIES)[number]
/** A JS provider may also just `accept` any terms at or above its floor (and counter with the floor below it). */
export const PROVIDER_NEGOTIATION_STRATEGIES = [...NEGOTIATION_STRATEGIES, 'accept'] as const
export type ProviderNegotiationStrategyName = (typeof PROVIDER_NEGOTIATION_STRATEGIES)[number]

/** A config-driven JS provider: the node-owned agent bids `cost × (1 + markup)` per unit and runs `task`. */
export interface MarketProviderConfig {
  capability: string
  /** Cost of one unit (credits, whole number >= 0). */
  cost: number
  /** Most units it sells per CFP. */
  units: number
  /** Margin over cost (0.25 = 25 %). */
  markup: number
  /** @default 'echo' */
  task?: MarketTask
  /**
   * How it negotiates after a CFP with `negotiation: true` clears (docs/market.md, "Negotiation in the
   * daemon"). @default { strategy: 'accept' }: accept any price at or above its asking price
   */
  negotiation?: {
    strategy: ProviderNegotiationStrategyName
    /** Lowest price per unit it agrees to (whole credits). @default its asking price, ceil(cost × (1 + markup)) per unit */
    minPrice?: number
    /**
     * How much it values a later result deadline against price (price weighs 1): it prefers the
     * CFP's whole result timeout and concedes towards half of it. @default 0 (deadline not negotiated)
     */
    deadlineWeight?: number
  }
}

export interface NodeConfig {
  /** libp2p listen multiaddrs (TCP). Port 0 picks a free port. */
  listen: string[]
  /** Extra multiaddrs to announce instead of the listen addresses (empty: announce what we listen on). */
  announce: string[]
  /** Multiaddrs (with `/p2p/<id>`) dialled at start to join the network. */
  bootstrap: string[]
  /** LAN discovery by multicast DNS. */
  mdns: boolean
  api: {
    /** Control API port on 127.0.0.1 (0 picks a free port, written to daemon.json). */
    port: number
  }
  dht: {
    /** Kademlia bucket size k (small k on a devnet exercises multi-hop lookups). */
    kBucketSize: number
    /** Default timeout of one capability lookup or record query. */
    queryTimeoutMs: number
    /** How long a provider record stays valid on other nodes. */
    providerValidityMs: number
    /** How often this node re-announces its capabilities (must be below providerValidityMs). */
    reprovideIntervalMs: number
    /** A lookup returns this long after its first provider instead of waiting for the whole query. */
    findSettleMs: number
  }
  wire: {
    /** Largest accepted message frame. */
    maxMessageBytes: number
    /** Largest accepted difference between an envelope's timestamp and our clock. */
    maxClockSkewMs: number
    /** Default timeout of one request/response exchange. */
    requestTimeoutMs: number
  }
  peerScore: {
    /** A peer whose score falls to or below this is disconnected and refused. */
    disconnectThreshold: number
    /** How long a disconnected peer is refused. */
    banMs: number
    /** Score points recovered per minute (towards 0). */
    recoveryPerMinute: number
  }
  connections: {
    /** Upper bound on open connections. */
    maxConnections: number
    /** Multiaddr prefixes exempt from connection rate limits (loopback for devnets). */
    allow: string[]
    /** Below this many connected peers the node redials its bootstrap and known peers. */
    minPeers: number
    /** How often the peer count is checked against `minPeers`. */
    redialIntervalMs: number
  }
  gossipsub: {
    /** IPs exempt from gossipsub's IP colocation penalty (many peers on one host). */
    ipColocationWhitelist: string[]
  }
  log: {
    level: NodeLogLevel
  }
  /** End-to-end agent messaging in the daemon (src/node/e2e, docs/e2e.md). */
  e2e: {
    /** Lifetime of the agent cards this node publishes (re-published at half of it). */
    cardTtlMs: number
    /** How long a fetched card is trusted before it is looked up again. */
    cardCacheMs: number
    /** Timeout of one delivery attempt (direct, or through one relay). */
    deliveryTimeoutMs: number
    /** Connected peers asked to relay, one after the other, when the recipient's node is unreachable. */
    maxRelays: number
    /** Hop limit (TTL) of an envelope. */
    hopLimit: number
    /** Connected peers that hold a copy of a message for an offline agent (besides the sender's node). */
    mailboxReplicas: number
    /** How long a mailbox holds a message. */
    mailboxTtlMs: number
    /** Messages one sending node may leave per recipient in this node's mailbox. */
    mailboxMaxPerSender: number
    /** Bytes one sending node may leave per recipient in this node's mailbox. */
    mailboxMaxBytesPerSender: number
    /** Idle lifetime of an E2E session before it is renegotiated. */
    sessionTtlMs: number
    /** Recent messages kept per local agent for `swarmd msg inbox`. */
    inboxSize: number
    /**
     * Hybrid post-quantum handshakes (an ML-KEM-768 secret mixed into the Noise key
     * schedule) for agents that do not say otherwise; ~2.2 KiB more per handshake.
     */
    postQuantum: boolean
  }
  /** CFP routing (`/swarmd/route/1.0.0`, docs/routing-daemon.md). */
  routing: {
    /** Router kind (a table router of src/routing). */
    router: RoutingRouterKind
    /** Below this confidence the router falls back to a DHT provider lookup (0 = never). */
    confidenceThreshold: number
    /** Hop limit of a routed CFP (the TTL a CFP starts with; more is refused as bad TTL). */
    ttl: number
    /** Probability of trying a random eligible neighbour instead of the best one. */
    exploration: number
    /** Capabilities kept in the routing table (the coldest is evicted beyond). */
    tableCap: number
    /** Also publish CFPs on gossipsub `swarmd/cfp/<capability>/1` (the flooding baseline). */
    floodBaseline: boolean
    /** On low confidence or no route, look providers up in the DHT and send directly. */
    dhtFallback: boolean
    /** How often the routing table is saved (also saved at stop). */
    persistIntervalMs: number
    /** Per-CFP decision traces kept (memory and LevelDB) for `swarmd route explain`. */
    traceCap: number
  }
  /** The reputation service (docs/reputation.md, "In the daemon"). */
  reputation: {
    /** Agent ids (64 hex chars) this node trusts a priori: its personal EigenTrust view. Empty: uniform. */
    preTrusted: string[]
    /** How often global trust is recomputed from the accepted reports. */
    trustIntervalMs: number
    /**
     * Reports about a task this node has no record of (it was not party to the award):
     * `hold` (hold `holdMs` for the market to register it, then drop), `accept-co-signed`
     * (accept when both parties signed, hold one-sided ones), `accept` (accept any validly
     * signed report; one-sided ones weigh half). See docs/reputation.md.
     */
    unknownTasks: UnknownTaskPolicy
    /** Bidders below `minTrust` relative trust are newcomers (docs/reputation.md, "Newcomers in the live auction"). */
    newcomers: {
      /** Admit newcomers at all (at the floor weight, with the stake a CFP requires). */
      admit: boolean
      minTrust: number
      /** A newcomer's bond must be at least this old (whitewashers pay bond × seasoning per identity). */
      bondAgeMs: number
      /** The adaptive stranger policy: admit newcomers beside trusted bidders only at the newcomer success rate. */
      adaptive: boolean
    }
    /**
     * Report gossip rate limit per publishing node (the gossip author), counted in reports (a batch of n takes n tokens):
     * token refill per second and bucket size (at least `gossip.maxBatch`).
     */
    ratePerSecond: number
    burst: number
    /** Batching of the reports this node publishes (docs/reputation.md, "Batched report gossip"). */
    gossip: {
      /** Send the outgoing batch when it holds this many reports (1..256; at most `burst`). */
      maxBatch: number
      /** Send the outgoing batch at most this long after its first report was queued. */
      batchMs: number
    }
    /** How long a report about an unknown task is held before it is dropped. */
    holdMs: number
    stake: {
      /** Bond below which an agent may not bid on staked CFPs; a slash below it blacklists. */
      minimum: number
      /** CFPs worth at most this need no stake. */
      freeValue: number
      /** Required bond per credit of CFP value, in basis points. */
      perValueBps: number
      /** Delay between unbonding and getting the credits back (they stay slashable meanwhile). */
      unbondingDelayMs: number
      /** Time after an award's deadline before a missing result is slashable. */
      deadlineGraceMs: number
    }
  }
  /** The market service (docs/market.md, "In the daemon"). */
  market: {
    /** JS providers run by the node-owned agent (devnets, tests). */
    providers: MarketProviderConfig[]
    /**
     * How CFPs travel: `flood` (gossipsub topic of the capability: every provider gets it and can bid,
     * what an auction needs) or `cq` (the Q-routing anycast: one provider, the best known).
     */
    routeMode: 'flood' | 'cq'
    /** How often auctions are advanced (cleared at their deadline, results timed out). */
    tickMs: number
    /** What a restarted requester does with auctions still open: `resume` (clear with the stored bids) or `cancel`. */
    recovery: 'resume' | 'cancel'
    /** Largest accepted market message (sealed bid, award, result, receipt). */
    maxMessageBytes: number
    /**
     * Filter and weight bids by the reputation service's view (docs/market.md, "Reputation in the
     * auction"): blacklisted, unstaked (for CFPs above `reputation.stake.freeValue`) or distrusted
     * bidders are refused, the others ranked by price / trust weight. No effect without the
     * reputation service.
     */
    reputation: boolean
    /** The requester's side of negotiated awards (CFPs with `negotiation: true`; docs/market.md, "Negotiation in the daemon"). */
    negotiation: {
      /** Concession strategy of the requester's negotiators. */
      strategy: NegotiationStrategyName
      /** Proposals allowed per negotiation (both sides); the answer to the last may only accept or reject. */
      maxRounds: number
      /** Time after clearing to agree terms; then the mechanism's terms are awarded to the others. */
      windowMs: number
      /**
       * How much the requester values a sooner result deadline against price (price weighs 1, 0..10):
       * it prefers half the CFP's result timeout and concedes towards all of it, and may then pay more
       * than the mechanism's payment for a faster result. @default 0 (price only)
       */
      deadlineWeight: number
    }
  }
  /** Agents hosted by this node (docs/agents.md). */
  agents: {
    /**
     * Plugins: JS/TS modules (path relative to the repository, or `builtin:http`),
     * each with an optional name, gas rule and options.
     */
    plugins: AgentPluginDecl[]
    /** Per-agent plugin allow-lists, keyed by agent name or id (`"*"` allows all); absent: all plugins. */
    allow: Record<string, string[]>
    /** Record every host answer so `swarmd agent trace` can export a replayable trace. */
    trace: boolean
    /** Gas per scheduling slice (fairness: each agent yields after this much gas). */
    sliceGas: number
    /** Safety defaults for every deploy (a deploy flag overrides each one). */
    defaults: AgentSafetyDefaults
  }
}

export interface AgentPluginDecl {
  module: string
  name?: string
  gas?: { base: number; perKb?: number }
  options?: Record<string, unknown>
}

/** Per-agent limits (the safety constitution); 0 means no limit. */
export interface AgentSafetyDefaults {
  /** Gas limit of one agent over its whole life. */
  gasLimit: number
  /** Credits an agent may pay per day (0: no limit). */
  spendPerDay: number
  /** Gas an agent may use per day (0: no limit). */
  gasPerDay: number
  /** Anomaly stop: gas within one minute (0: off). */
  maxGasPerMinute: number
  /** Action kinds held until `swarmd agent approve` (pay, fork, self_modify, tool_write). */
  approvalRequired: string[]
  /** Opcodes agents may not execute. */
  deniedOpcodes: string[]
  /** Largest `--balance` a single deploy may mint. */
  maxDeployBalance: number
}

/** Router kinds the daemon can run (the stateless baselines and the oracle are simulator-only). */
export const ROUTING_ROUTER_KINDS = ['cq', 'q', 'pq', 'drq', 'cdrq'] as const
export type RoutingRouterKind = (typeof ROUTING_ROUTER_KINDS)[number]

export const DEFAULT_CONFIG: NodeConfig = {
  listen: ['/ip4/0.0.0.0/tcp/4101'],
  announce: [],
  bootstrap: [],
  mdns: true,
  api: { port: 5101 },
  dht: {
    kBucketSize: 20,
    queryTimeoutMs: 10_000,
    providerValidityMs: 48 * 3600_000,
    reprovideIntervalMs: 12 * 3600_000,
    findSettleMs: 50,
  },
  wire: { maxMessageBytes: 1024 * 1024, maxClockSkewMs: 5 * 60_000, requestTimeoutMs: 10_000 },
  peerScore: { disconnectThreshold: -100, banMs: 10 * 60_000, recoveryPerMinute: 10 },
  connections: {
    maxConnections: 300,
    allow: ['/ip4/127.0.0.1/ipcidr/32'],
    minPeers: 3,
    redialIntervalMs: 10_000,
  },
  gossipsub: { ipColocationWhitelist: ['127.0.0.1'] },
  log: { level: 'info' },
  e2e: {
    cardTtlMs: 24 * 3600_000,
    cardCacheMs: 60_000,
    deliveryTimeoutMs: 5_000,
    maxRelays: 3,
    hopLimit: 4,
    mailboxReplicas: 2,
    mailboxTtlMs: 7 * 24 * 3600_000,
    mailboxMaxPerSender: 100,
    mailboxMaxBytesPerSender: 1024 * 1024,
    sessionTtlMs: 10 * 60_000,
    inboxSize: 200,
    postQuantum: false,
  },
  routing: {
    router: 'cq',
    confidenceThreshold: 0.5,
    ttl: 16,
    exploration: 0.05,
    tableCap: 1024,
    floodBaseline: false,
    dhtFallback: true,
    persistIntervalMs: 30_000,
    traceCap: 1000,
  },
  reputation: {
    preTrusted: [],
    trustIntervalMs: 10_000,
    unknownTasks: 'accept-co-signed',
    newcomers: { admit: true, minTrust: 0.001, bondAgeMs: 0, adaptive: false },
    ratePerSecond: 50,
    burst: 50,
    gossip: { maxBatch: 32, batchMs: 1000 },
    holdMs: 30_000,
    stake: {
      minimum: 100,
      freeValue: 100,
      perValueBps: 1000,
      unbondingDelayMs: 7 * 24 * 3600_000,
      deadlineGraceMs: 60_000,
    },
  },
  market: {
    providers: [],
    routeMode: 'flood',
    tickMs: 100,
    recovery: 'resume',
    maxMessageBytes: 256 * 1024,
    reputation: true,
    negotiation: { strategy: 'boulware', maxRounds: 10, windowMs: 5_000, deadlineWeight: 0 },
  },
  agents: {
    plugins: [],
    allow: {},
    trace: true,
    sliceGas: 10_000,
    defaults: {
      gasLimit: 1_000_000,
      spendPerDay: 0,
      gasPerDay: 0,
      maxGasPerMinute: 0,
      approvalRequired: ['fork'],
      deniedOpcodes: [],
      maxDeployBalance: 1_000_000,
    },
  },
}

type Leaf = { kind: 'leaf'; expect: string; check: (v: unknown) => boolean }
type Schema = { [key: string]: Leaf | Schema }

const int = (min: number, max: number): Leaf => ({
  kind: 'leaf',
  expect: `an integer ${min}..${max}`,
  check: (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
})
const num = (min: number, max: number): Leaf => ({
  kind: 'leaf',
  expect: `a number ${min}..${max}`,
  check: (v) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max,
})
const oneOf = (choices: readonly string[]): Leaf => ({
  kind: 'leaf',
  expect: `one of ${choices.join(', ')}`,
  check: (v) => typeof v === 'string' && choices.includes(v),
})
const bool: Leaf = { kind: 'leaf', expect: 'true or false', check: (v) => typeof v === 'boolean' }
function parsesAsMultiaddr(s: unknown): boolean {
  if (typeof s !== 'string' || !s.startsWith('/')) return false
  try {
    multiaddr(s)
    return true
  } catch {
    return false
  }
}
const multiaddrList: Leaf = {
  kind: 'leaf',
  expect: 'a list of multiaddrs (e.g. "/ip4/127.0.0.1/tcp/4101")',
  check: (v) => Array.isArray(v) && v.every(parsesAsMultiaddr),
}
const peerAddrList: Leaf = {
  kind: 'leaf',
  expect: 'a list of multiaddrs ending in /p2p/<peer id>',
  check: (v) => Array.isArray(v) && v.every((s) => parsesAsMultiaddr(s) && /\/p2p\/[^/]+$/.test(s as string)),
}
const stringList: Leaf = {
  kind: 'leaf',
  expect: 'a list of strings',
  check: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0),
}
const agentIdList: Leaf = {
  kind: 'leaf',
  expect: 'a list of agent ids (64 lowercase hex characters each)',
  check: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s)),
}
const HOUR = 3600_000
const CAPABILITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/
function validProvider(p: unknown): boolean {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false
  const o = p as Record<string, unknown>
  const keys = new Set(['capability', 'cost', 'units', 'markup', 'task', 'negotiation'])
  if (Object.keys(o).some((k) => !keys.has(k))) return false
  return (
    (o.negotiation === undefined || validProviderNegotiation(o.negotiation)) &&
    typeof o.capability === 'string' &&
    CAPABILITY_NAME.test(o.capability) &&
    Number.isSafeInteger(o.cost) &&
    (o.cost as number) >= 0 &&
    Number.isSafeInteger(o.units) &&
    (o.units as number) >= 1 &&
    (o.units as number) <= 1_000_000 &&
    typeof o.markup === 'number' &&
    Number.isFinite(o.markup) &&
    o.markup >= 0 &&
    o.markup <= 100 &&
    (o.task === undefined || (MARKET_TASKS as readonly unknown[]).includes(o.task))
  )
}
function validProviderNegotiation(n: unknown): boolean {
  if (typeof n !== 'object' || n === null || Array.isArray(n)) return false
  const o = n as Record<string, unknown>
  return (
    Object.keys(o).every((k) => k === 'strategy' || k === 'minPrice' || k === 'deadlineWeight') &&
    (PROVIDER_NEGOTIATION_STRATEGIES as readonly unknown[]).includes(o.strategy) &&
    (o.minPrice === undefined || (Number.isSafeInteger(o.minPrice) && (o.minPrice as number) >= 0)) &&
    (o.deadlineWeight === undefined ||
      (typeof o.deadlineWeight === 'number' && o.deadlineWeight >= 0 && o.deadlineWeight <= 10))
  )
}
const providerList: Leaf = {
  kind: 'leaf',
  expect: `a list of {capability, cost, units, markup, task?, negotiation?} (cost a whole number >= 0, units >= 1, markup 0..100, task one of ${MARKET_TASKS.join(', ')}, negotiation {strategy: ${PROVIDER_NEGOTIATION_STRATEGIES.join('|')}, minPrice?: whole number >= 0, deadlineWeight?: 0..10})`,
  check: (v) => Array.isArray(v) && v.length <= 64 && v.every(validProvider),
}
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const gasRule = (g: unknown): boolean =>
  isObj(g) &&
  Object.keys(g).every((k) => k === 'base' || k === 'perKb') &&
  Number.isSafeInteger(g.base) &&
  (g.base as number) >= 0 &&
  (g.perKb === undefined || (Number.isSafeInteger(g.perKb) && (g.perKb as number) >= 0))
const pluginList: Leaf = {
  kind: 'leaf',
  expect:
    'a list of { "module": "./x.ts" | "builtin:http", "name"?: string, "gas"?: { "base": int, "perKb"?: int }, "options"?: {} }',
  check: (v) =>
    Array.isArray(v) &&
    v.every(
      (d) =>
        isObj(d) &&
        Object.keys(d).every((k) => ['module', 'name', 'gas', 'options'].includes(k)) &&
        typeof d.module === 'string' &&
        d.module.length > 0 &&
        (d.name === undefined || (typeof d.name === 'string' && d.name.length > 0)) &&
        (d.gas === undefined || gasRule(d.gas)) &&
        (d.options === undefined || isObj(d.options)),
    ),
}
const allowMap: Leaf = {
  kind: 'leaf',
  expect: 'an object mapping agent names or ids to lists of plugin names',
  check: (v) =>
    isObj(v) && Object.values(v).every((l) => Array.isArray(l) && l.every((s) => typeof s === 'string')),
}
const ACTION_KINDS = ['pay', 'fork', 'self_modify', 'tool_write']
const actionList: Leaf = {
  kind: 'leaf',
  expect: `a list of action kinds (${ACTION_KINDS.join(', ')})`,
  check: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && ACTION_KINDS.includes(s)),
}

const SCHEMA: Schema = {
  listen: multiaddrList,
  announce: multiaddrList,
  bootstrap: peerAddrList,
  mdns: bool,
  api: { port: int(0, 65535) },
  dht: {
    kBucketSize: int(2, 256),
    queryTimeoutMs: int(100, 600_000),
    providerValidityMs: int(60_000, 30 * 24 * HOUR),
    reprovideIntervalMs: int(10_000, 30 * 24 * HOUR),
    findSettleMs: int(0, 600_000),
  },
  wire: {
    maxMessageBytes: int(1024, 64 * 1024 * 1024),
    maxClockSkewMs: int(1000, 24 * HOUR),
    requestTimeoutMs: int(100, 600_000),
  },
  peerScore: {
    disconnectThreshold: int(-1_000_000, -1),
    banMs: int(0, 30 * 24 * HOUR),
    recoveryPerMinute: int(0, 1_000_000),
  },
  connections: {
    maxConnections: int(1, 100_000),
    allow: multiaddrList,
    minPeers: int(0, 1000),
    redialIntervalMs: int(1000, 3_600_000),
  },
  gossipsub: { ipColocationWhitelist: stringList },
  log: {
    level: {
      kind: 'leaf',
      expect: `one of ${LOG_LEVELS.join(', ')}`,
      check: (v) => typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v),
    },
  },
  e2e: {
    cardTtlMs: int(60_000, 7 * 24 * HOUR),
    cardCacheMs: int(0, 24 * HOUR),
    deliveryTimeoutMs: int(100, 600_000),
    maxRelays: int(0, 64),
    hopLimit: int(1, 64),
    mailboxReplicas: int(0, 64),
    mailboxTtlMs: int(60_000, 30 * 24 * HOUR),
    mailboxMaxPerSender: int(1, 100_000),
    mailboxMaxBytesPerSender: int(1024, 1024 * 1024 * 1024),
    sessionTtlMs: int(1000, 24 * HOUR),
    inboxSize: int(1, 100_000),
    postQuantum: bool,
  },
  routing: {
    router: oneOf(ROUTING_ROUTER_KINDS),
    confidenceThreshold: num(0, 1),
    ttl: int(1, 64),
    exploration: num(0, 1),
    tableCap: int(1, 1_000_000),
    floodBaseline: bool,
    dhtFallback: bool,
    persistIntervalMs: int(1000, 24 * HOUR),
    traceCap: int(1, 1_000_000),
  },
  reputation: {
    preTrusted: agentIdList,
    trustIntervalMs: int(10, 24 * HOUR),
    unknownTasks: {
      kind: 'leaf',
      expect: `one of ${UNKNOWN_TASK_POLICIES.join(', ')}`,
      check: (v) => typeof v === 'string' && (UNKNOWN_TASK_POLICIES as readonly string[]).includes(v),
    },
    newcomers: {
      admit: bool,
      minTrust: num(0, 1000),
      bondAgeMs: int(0, 365 * 24 * HOUR),
      adaptive: bool,
    },
    ratePerSecond: int(1, 100_000),
    burst: int(1, 1_000_000),
    gossip: {
      maxBatch: int(1, 256), // MAX_REPORT_BATCH_REPORTS (src/reputation/batch.ts)
      batchMs: int(0, 60_000),
    },
    holdMs: int(0, 24 * HOUR),
    stake: {
      minimum: int(1, Number.MAX_SAFE_INTEGER),
      freeValue: int(0, Number.MAX_SAFE_INTEGER),
      perValueBps: int(0, 1_000_000),
      unbondingDelayMs: int(0, 365 * 24 * HOUR),
      deadlineGraceMs: int(0, 30 * 24 * HOUR),
    },
  },
  market: {
    providers: providerList,
    routeMode: oneOf(['flood', 'cq']),
    tickMs: int(10, 60_000),
    recovery: oneOf(['resume', 'cancel']),
    maxMessageBytes: int(4096, 16 * 1024 * 1024),
    reputation: bool,
    negotiation: {
      strategy: oneOf(NEGOTIATION_STRATEGIES),
      maxRounds: int(1, 100),
      windowMs: int(100, HOUR),
      deadlineWeight: num(0, 10),
    },
  },
  agents: {
    plugins: pluginList,
    allow: allowMap,
    trace: bool,
    sliceGas: int(100, 100_000_000),
    defaults: {
      gasLimit: int(1, Number.MAX_SAFE_INTEGER),
      spendPerDay: int(0, Number.MAX_SAFE_INTEGER),
      gasPerDay: int(0, Number.MAX_SAFE_INTEGER),
      maxGasPerMinute: int(0, Number.MAX_SAFE_INTEGER),
      approvalRequired: actionList,
      deniedOpcodes: stringList,
      maxDeployBalance: int(0, Number.MAX_SAFE_INTEGER),
    },
  },
}

const isLeaf = (s: Leaf | Schema): s is Leaf => (s as Leaf).kind === 'leaf'

/** Every config key path, e.g. `api.port` (for docs and `did you mean`). */
export function configKeys(schema: Schema = SCHEMA, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([k, s]) =>
    isLeaf(s) ? [prefix + k] : configKeys(s, `${prefix}${k}.`),
  )
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return d[b.length]!
}

function suggest(key: string, candidates: string[]): string {
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const dist = levenshtein(key.toLowerCase(), c.toLowerCase())
    if (dist < bestD) {
      bestD = dist
      best = c
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3))
    ? ` (did you mean "${best}"?)`
    : ''
}

function show(v: unknown): string {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s
}

function validate(input: unknown, schema: Schema, prefix: string, out: Record<string, unknown>): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UserError(`config: "${prefix.slice(0, -1) || '(root)'}" must be an object, got ${show(input)}`)
  }
  const keys = Object.keys(schema)
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    const s = schema[k]
    if (!s)
      throw new UserError(
        `config: unknown key "${prefix}${k}"${suggest(
          k,
          keys.map((x) => x),
        )}`,
      )
    if (isLeaf(s)) {
      if (!s.check(v)) throw new UserError(`config: "${prefix}${k}" must be ${s.expect}, got ${show(v)}`)
      out[k] = Array.isArray(v) ? [...v] : v
    } else {
      const sub = (out[k] ?? {}) as Record<string, unknown>
      validate(v, s, `${prefix}${k}.`, sub)
      out[k] = sub
    }
  }
}

function clone<T>(v: T): T {
  return structuredClone(v)
}

/**
 * Validate a parsed config object (a partial one is fine: missing keys take
 * their defaults) and return the complete config. Throws `UserError`.
 */
export function parseConfig(input: unknown): NodeConfig {
  const out = clone(DEFAULT_CONFIG) as unknown as Record<string, unknown>
  validate(input, SCHEMA, '', out)
  const cfg = out as unknown as NodeConfig
  if (cfg.reputation.gossip.maxBatch > cfg.reputation.burst) {
    throw new UserError(
      `config: "reputation.gossip.maxBatch" must be at most "reputation.burst" (${cfg.reputation.burst}), got ${cfg.reputation.gossip.maxBatch}: peers with the same rate limit would refuse the end of a full batch and penalise this node`,
    )
  }
  if (cfg.dht.reprovideIntervalMs >= cfg.dht.providerValidityMs) {
    throw new UserError(
      `config: "dht.reprovideIntervalMs" must be below "dht.providerValidityMs" (${cfg.dht.providerValidityMs}), got ${cfg.dht.reprovideIntervalMs}`,
    )
  }
  return cfg
}

/** Parse config file text (JSON). */
export function parseConfigText(text: string, file = 'config.json'): NodeConfig {
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch (err) {
    throw new UserError(`config: ${file} is not valid JSON (${(err as Error).message})`)
  }
  return parseConfig(obj)
}

/** Overrides by dotted key path (`api.port`), as CLI flags produce them. */
export type ConfigOverrides = Record<string, unknown>

/** Apply dotted-path overrides to a config and validate the result. */
export function applyOverrides(cfg: NodeConfig, overrides: ConfigOverrides): NodeConfig {
  const obj = clone(cfg) as unknown as Record<string, unknown>
  for (const [path, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    const parts = path.split('.')
    let cur = obj
    for (const p of parts.slice(0, -1)) {
      const next = cur[p]
      if (typeof next !== 'object' || next === null) cur[p] = {}
      cur = cur[p] as Record<string, unknown>
    }
    cur[parts[parts.length - 1]!] = value
  }
  return parseConfig(obj)
}
