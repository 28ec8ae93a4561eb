import {
  defaultRegistry,
  type Host,
  offlineHost,
  type Plugin,
  runSource,
  type Value,
} from '../../../src/vm/index.ts'

export interface Case {
  name: string
  src: string
  out?: Value
  halt?: string
  gas?: number
}

/** Run a snippet on a fresh offline host; returns the run result and the host. */
export async function exec(
  src: string,
  opts: { gas?: number; host?: Host; plugins?: Plugin[]; inputs?: Record<string, Value> } = {},
) {
  const host = opts.host ?? offlineHost({ plugins: defaultRegistry(opts.plugins ?? []) })
  const { result, machine } = await runSource(src, { gas: opts.gas ?? 100_000, host, inputs: opts.inputs })
  return { result, machine, host }
}
