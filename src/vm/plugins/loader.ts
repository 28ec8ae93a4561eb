/**
 * Plugins declared in config: `[{ "name": "LLama", "module": "./llama.ts",
 * "gas": { "base": 20 }, "options": {...} }]`, plus an optional per-agent
 * allow-list. A module default-exports a `Plugin` or a factory
 * `(options) => Plugin`. Built-in modules: `builtin:http` (options `{ allow }`).
 */

import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Plugin } from '../host.ts'
import { defaultRegistry, httpTool, type PluginRegistry } from './builtin.ts'

export interface PluginDecl {
  name?: string
  module: string
  gas?: { base: number; perKb?: number }
  options?: Record<string, unknown>
}

export interface PluginConfig {
  plugins: PluginDecl[]
  allow?: Record<string, string[]>
}

function isPlugin(x: unknown): x is Plugin {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Plugin).call === 'function' &&
    typeof (x as Plugin).name === 'string'
  )
}

export async function loadPlugin(d: PluginDecl, baseDir: string): Promise<Plugin> {
  let p: unknown
  if (d.module === 'builtin:http') {
    p = httpTool({ allow: (d.options?.allow as string[] | undefined) ?? [] })
  } else {
    const mod = (await import(pathToFileURL(resolve(baseDir, d.module)).href)) as { default?: unknown }
    const exp = mod.default
    p = typeof exp === 'function' ? (exp as (o: unknown) => unknown)(d.options ?? {}) : exp
  }
  if (!isPlugin(p)) throw new Error(`plugin module ${d.module} does not export a plugin ({ name, call })`)
  return { ...p, ...(d.name ? { name: d.name } : {}), ...(d.gas ? { gas: d.gas } : {}) }
}

/** The default registry plus every declared plugin. */
export async function loadRegistry(cfg: PluginConfig, baseDir: string): Promise<PluginRegistry> {
  const extra: Plugin[] = []
  for (const d of cfg.plugins) extra.push(await loadPlugin(d, baseDir))
  return defaultRegistry(extra, cfg.allow)
}
