/**
 * Built-in plugins: reducers, the local embedder and an `http` read tool
 * limited to allow-listed URL prefixes; plus `PluginRegistry`, the default
 * `PluginHost` (per-agent allow-lists).
 */
import { embedText } from '../embedder.ts'
import type { Plugin, PluginHost } from '../host.ts'
import { canonical } from '../trace-util.ts'
import { toText, truthy, type Value } from '../values.ts'

const nums = (xs: Value[]) => xs.filter((x): x is number => typeof x === 'number')

export const REDUCERS: Record<string, (xs: Value[]) => Value> = {
  average: (xs) => {
    const n = nums(xs.flat())
    return n.length === 0 ? null : n.reduce((a, b) => a + b, 0) / n.length
  },
  sum: (xs) => nums(xs.flat()).reduce((a, b) => a + b, 0),
  min: (xs) => {
    const n = nums(xs.flat())
    return n.length === 0 ? null : Math.min(...n)
  },
  max: (xs) => {
    const n = nums(xs.flat())
    return n.length === 0 ? null : Math.max(...n)
  },
  concat: (xs) => (xs.every((x) => Array.isArray(x)) ? (xs as Value[][]).flat() : xs.map(toText).join('')),
  vote: (xs) => {
    const counts = new Map<string, { v: Value; n: number }>()
    for (const x of xs) {
      const k = canonical(x)
      const c = counts.get(k)
      if (c) c.n++
      else counts.set(k, { v: x, n: 1 })
    }
    let best: { v: Value; n: number } | null = null
    for (const c of counts.values()) if (!best || c.n > best.n) best = c
    return best ? best.v : null
  },
  all: (xs) => xs.every(truthy),
  any: (xs) => xs.some(truthy),
}

/** The default embedder plugin (hashed n-grams, 256 dimensions). */
export function localEmbedder(name = 'local-embed'): Plugin {
  return {
    name,
    kind: 'embedder',
    description: 'deterministic hashed character n-gram + word embedder (256 dims)',
    gas: { base: 2, perKb: 2 },
    call: (req) => embedText(toText(req.args[0] ?? '')),
  }
}

export interface HttpToolInit {
  /** URL prefixes the tool may fetch (e.g. `https://api.example.com/`). */
  allow: string[]
  /** @default 1 MiB */
  maxBytes?: number
  /** @default 10000 */
  timeoutMs?: number
}

/** `READ_FROM_TOOL "http", URL` → response text (or parsed JSON). Only allow-listed URL prefixes. */
export function httpTool(init: HttpToolInit): Plugin {
  const maxBytes = init.maxBytes ?? 1024 * 1024
  // compare origins and path prefixes, so "https://api.example.com" does not admit "https://api.example.com.evil.net"
  const allowed = init.allow.map((a) => new URL(a))
  return {
    name: 'http',
    kind: 'tool',
    description: `HTTP GET limited to: ${init.allow.join(', ')}`,
    gas: { base: 20, perKb: 1 },
    async call(req) {
      if (req.func !== 'read') throw new Error('http tool is read-only')
      const a = req.args[0]
      const url =
        typeof a === 'string'
          ? a
          : a && typeof a === 'object' && !Array.isArray(a)
            ? toText(a.url ?? null)
            : ''
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        throw new Error(`bad URL '${url}'`)
      }
      if (!allowed.some((a) => a.origin === parsed.origin && parsed.pathname.startsWith(a.pathname))) {
        throw new Error(`URL not allow-listed: ${parsed.href}`)
      }
      const res = await fetch(parsed, {
        signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
        redirect: 'error',
      })
      if (Number(res.headers.get('content-length') ?? 0) > maxBytes)
        throw new Error(`response over ${maxBytes} bytes`)
      const buf = new Uint8Array(await res.arrayBuffer())
      if (buf.length > maxBytes) throw new Error(`response over ${maxBytes} bytes`)
      const text = new TextDecoder().decode(buf)
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        try {
          return JSON.parse(text)
        } catch {
          return text
        }
      }
      return text
    },
  }
}

export interface RegistryInit {
  plugins?: Plugin[]
  /** Per-agent allow-list: agent id → plugin names (`*` = all). Agents not listed may use every plugin. */
  allow?: Record<string, string[]>
}

export class PluginRegistry implements PluginHost {
  private readonly map = new Map<string, Plugin>()
  private readonly allow: Record<string, string[]>

  constructor(init: RegistryInit = {}) {
    this.allow = init.allow ?? {}
    for (const p of init.plugins ?? [localEmbedder()]) this.add(p)
  }
  add(p: Plugin): this {
    this.map.set(p.name, p)
    return this
  }
  get(name: string): Plugin | undefined {
    return this.map.get(name)
  }
  names(): string[] {
    return [...this.map.keys()].sort()
  }
  list(agentId: string): string[] {
    return this.names().filter((n) => this.allowed(agentId, n))
  }
  allowed(agentId: string, name: string): boolean {
    const a = this.allow[agentId]
    return a === undefined || a.includes('*') || a.includes(name)
  }
  /** Opcodes declared by plugins, for the assembler. */
  opcodes(): Record<string, { plugin: string; minArgs?: number; maxArgs?: number; gas?: number }> {
    const out: Record<string, { plugin: string; minArgs?: number; maxArgs?: number; gas?: number }> = {}
    for (const p of this.map.values()) {
      for (const [op, d] of Object.entries(p.opcodes ?? {})) out[op] = { plugin: p.name, ...d }
    }
    return out
  }
  /** Assembler options naming every registered plugin and plugin opcode. */
  asmOptions(): { plugins: string[]; pluginOpcodes: ReturnType<PluginRegistry['opcodes']> } {
    return { plugins: [...this.names(), ...Object.keys(REDUCERS)], pluginOpcodes: this.opcodes() }
  }
}

/** Default registry: the local embedder (also under the seed's model name), reducers built in. */
export function defaultRegistry(extra: Plugin[] = [], allow?: Record<string, string[]>): PluginRegistry {
  return new PluginRegistry({
    plugins: [localEmbedder(), localEmbedder('text-embedding-3-small'), ...extra],
    allow,
  })
}
