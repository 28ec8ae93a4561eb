/**
 * The node's configuration: one JSON file (`<repo>/config.json`), every key
 * documented here with its default, validated once by `parseConfig`. An
 * unknown key or a bad value is refused with a message naming the key and the
 * expected value. CLI flags map onto the same paths through `applyOverrides`.
 */
import { UserError } from '../common/index.ts'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
export type NodeLogLevel = (typeof LOG_LEVELS)[number]

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
  }
  gossipsub: {
    /** IPs exempt from gossipsub's IP colocation penalty (many peers on one host). */
    ipColocationWhitelist: string[]
  }
  log: {
    level: NodeLogLevel
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
  },
  wire: { maxMessageBytes: 1024 * 1024, maxClockSkewMs: 5 * 60_000, requestTimeoutMs: 10_000 },
  peerScore: { disconnectThreshold: -100, banMs: 10 * 60_000, recoveryPerMinute: 10 },
  connections: { maxConnections: 300, allow: ['/ip4/127.0.0.1/ipcidr/32'] },
  gossipsub: { ipColocationWhitelist: ['127.0.0.1'] },
  log: { level: 'info' },
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
const bool: Leaf = { kind: 'leaf', expect: 'true or false', check: (v) => typeof v === 'boolean' }
const multiaddrList: Leaf = {
  kind: 'leaf',
  expect: 'a list of multiaddr strings starting with "/"',
  check: (v) =>
    Array.isArray(v) && v.every((s) => typeof s === 'string' && s.startsWith('/') && s.length > 1),
}
const stringList: Leaf = {
  kind: 'leaf',
  expect: 'a list of strings',
  check: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0),
}
const HOUR = 3600_000
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
  bootstrap: multiaddrList,
  mdns: bool,
  api: { port: int(0, 65535) },
  dht: {
    kBucketSize: int(2, 256),
    queryTimeoutMs: int(100, 600_000),
    providerValidityMs: int(60_000, 30 * 24 * HOUR),
    reprovideIntervalMs: int(10_000, 30 * 24 * HOUR),
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
  connections: { maxConnections: int(1, 100_000), allow: multiaddrList },
  gossipsub: { ipColocationWhitelist: stringList },
  log: {
    level: {
      kind: 'leaf',
      expect: `one of ${LOG_LEVELS.join(', ')}`,
      check: (v) => typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v),
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
