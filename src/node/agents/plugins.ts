/**
 * The plugins agents may call, from the `agents` config section: the VM's
 * defaults (local embedder, reducers) plus every declared module, with
 * per-agent allow-lists keyed by agent NAME or id (ids are only known after
 * deploy, names are chosen by the operator).
 */
import { SwarmdError } from '../../common/index.ts'
import { loadPlugin, localEmbedder, type Plugin, PluginRegistry } from '../../vm/index.ts'
import type { AgentPluginDecl } from '../config.ts'

export class AgentPlugins extends PluginRegistry {
  private readonly rules: Record<string, string[]>
  /** Agent id → name (set by the agent service). */
  nameOf: (agentId: string) => string | undefined = () => undefined

  constructor(plugins: Plugin[], allow: Record<string, string[]>) {
    super({ plugins })
    this.rules = allow
  }

  override allowed(agentId: string, name: string): boolean {
    const n = this.nameOf(agentId)
    const rule = this.rules[agentId] ?? (n === undefined ? undefined : this.rules[n])
    return rule === undefined || rule.includes('*') || rule.includes(name)
  }
}

/** Load every declared plugin (paths relative to `baseDir`, the repository). */
export async function loadAgentPlugins(
  decls: AgentPluginDecl[],
  allow: Record<string, string[]>,
  baseDir: string,
): Promise<AgentPlugins> {
  const extra: Plugin[] = []
  for (const d of decls) {
    try {
      extra.push(await loadPlugin(d, baseDir))
    } catch (err) {
      throw new SwarmdError(
        'PLUGIN_LOAD_FAILED',
        `agents.plugins: cannot load ${d.module}: ${err instanceof Error ? err.message : String(err)}`,
      )
    }
  }
  return new AgentPlugins(
    [localEmbedder(), localEmbedder('text-embedding-3-small'), ...extra],
    structuredClone(allow),
  )
}
