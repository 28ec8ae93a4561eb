/** CLI commands of the vm subsystem: check, run, replay, breed (offline, no daemon). */
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { UserError } from '../common/errors.ts'
import type { KvStore } from '../common/index.ts'
import { Db } from '../node/db.ts'
import { seededRandom } from '../common/index.ts'
import {
  assemble,
  breed,
  defaultRegistry,
  exportTrace,
  formatDiagnostic,
  loadRegistry,
  offlineHost,
  type PluginConfig,
  type PluginRegistry,
  replayTrace,
  runSource,
} from '../vm/index.ts'
import { type Command, printJson } from './command.ts'

const pluginsFlag = {
  type: 'string' as const,
  description:
    'JSON plugin config: { "plugins": [{ "module": "./x.ts", "name"?, "gas"?, "options"? }], "allow"? }',
  placeholder: 'FILE',
}

async function registry(path: unknown): Promise<PluginRegistry> {
  if (typeof path !== 'string') return defaultRegistry()
  let cfg: PluginConfig
  try {
    cfg = JSON.parse(await readFile(path, 'utf8')) as PluginConfig
  } catch {
    throw new UserError(`cannot read plugin config ${path}`)
  }
  try {
    return await loadRegistry(cfg, dirname(resolve(path)))
  } catch (e) {
    throw new UserError(`plugin config ${path}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

/** Storage for `vm run --state DIR`: the node's LevelDB controller over DIR. */
async function openState(dir: string): Promise<{ store: KvStore; close: () => Promise<void> }> {
  const db = await Db.open(dir, {
    inUse: () => new UserError(`state directory ${dir} is already in use by another process`),
  })
  return { store: db.kv, close: () => db.close() }
}

async function read(path: string | undefined): Promise<string> {
  if (!path) throw new UserError('missing FILE')
  try {
    return await readFile(path, 'utf8')
  } catch {
    throw new UserError(`cannot read ${path}`)
  }
}

const check: Command = {
  name: 'check',
  summary: 'assemble and verify an AVM program',
  positionals: [{ name: 'FILE', description: 'program (.avm)', required: true }],
  flags: { plugins: pluginsFlag },
  run: async ({ args, flags, io }) => {
    const reg = await registry(flags.plugins)
    const r = assemble(await read(args.FILE), { file: args.FILE, ...reg.asmOptions() })
    if (flags.json) printJson(io, { ok: r.errors.length === 0, diagnostics: r.diags.map(formatDiagnostic) })
    else {
      for (const d of r.diags) io.err(`${formatDiagnostic(d)}\n`)
      if (r.errors.length === 0) io.out(`${args.FILE}: ok (${r.program?.code.length} instructions)\n`)
    }
    return r.errors.length === 0 ? 0 : 1
  },
}

const run: Command = {
  name: 'run',
  summary: 'run a program offline and print { status, halt, gasUsed, output }',
  positionals: [{ name: 'FILE', description: 'program (.avm)', required: true }],
  flags: {
    gas: { type: 'integer', description: 'gas limit', default: 1_000_000, min: 1 },
    trace: { type: 'string', description: 'write the JSONL trace here', placeholder: 'OUT' },
    input: { type: 'string', description: 'JSON object of input registers', placeholder: 'JSON' },
    plugins: pluginsFlag,
    state: {
      type: 'string',
      description: 'keep agent storage and wallet in a LevelDB in DIR (default: in memory)',
      placeholder: 'DIR',
    },
    agent: { type: 'string', description: 'agent id (64 hex) whose storage the run uses', placeholder: 'ID' },
  },
  run: async ({ args, flags, io }) => {
    const source = await read(args.FILE)
    let inputs = {}
    if (typeof flags.input === 'string') {
      try {
        inputs = JSON.parse(flags.input)
      } catch {
        throw new UserError('--input must be a JSON object')
      }
    }
    const reg = await registry(flags.plugins)
    const state = typeof flags.state === 'string' ? await openState(flags.state) : null
    const agentId = typeof flags.agent === 'string' ? flags.agent : undefined
    if (agentId !== undefined && !/^[0-9a-f]{64}$/.test(agentId))
      throw new UserError('--agent must be 64 lowercase hex characters')
    const host = offlineHost({
      plugins: reg,
      ...(state ? { store: state.store } : {}),
      ...(agentId ? { agentId } : {}),
    })
    try {
      return await runAndPrint()
    } finally {
      await state?.close()
    }
    async function runAndPrint(): Promise<number> {
      let out: Awaited<ReturnType<typeof runSource>>
      try {
        out = await runSource(source, {
          file: args.FILE,
          gas: Number(flags.gas),
          host,
          inputs,
          trace: typeof flags.trace === 'string',
        })
      } catch (e) {
        throw new UserError(e instanceof Error ? e.message : String(e))
      }
      if (typeof flags.trace === 'string') {
        const text = await exportTrace(out.machine, {
          file: args.FILE ?? '',
          source,
          agentId: host.agentId,
          gasLimit: Number(flags.gas),
          inputs,
          asm: reg.asmOptions(),
        })
        await writeFile(flags.trace, text)
      }
      const r = out.result
      if (flags.json) printJson(io, { status: r.status, halt: r.halt, gasUsed: r.gasUsed, output: r.output })
      else {
        io.out(`status: ${r.status}  gasUsed: ${r.gasUsed}\n`)
        if (r.halt) io.out(`halt: ${r.halt.reason} at line ${r.halt.line}: ${r.halt.message}\n`)
        io.out(`output: ${JSON.stringify(r.output)}\n`)
      }
      return r.status === 'ok' ? 0 : 1
    }
  },
}

const replay: Command = {
  name: 'replay',
  summary: 're-execute a trace against its recorded host answers; report the first divergence',
  positionals: [{ name: 'TRACE', description: 'JSONL trace from vm run --trace', required: true }],
  run: async ({ args, flags, io }) => {
    const rep = await replayTrace(await read(args.TRACE))
    if (flags.json) printJson(io, rep)
    else if (rep.ok) io.out(`replay ok: ${rep.steps} instructions reproduced exactly\n`)
    else
      io.out(
        `diverged at instruction ${rep.divergence?.index} (pc ${rep.divergence?.pc}, line ${rep.divergence?.line}): ${rep.divergence?.field} expected ${JSON.stringify(rep.divergence?.expected)} got ${JSON.stringify(rep.divergence?.actual)}\n`,
      )
    return rep.ok ? 0 : 1
  },
}

const breedCmd: Command = {
  name: 'breed',
  summary: 'cross over the editable regions of two programs (+ bounded mutation), verified',
  positionals: [
    { name: 'A', description: 'parent A', required: true },
    { name: 'B', description: 'parent B', required: true },
  ],
  flags: {
    seed: { type: 'integer', description: 'random seed', default: 1 },
    out: { type: 'string', description: 'write the child here (default: stdout)', placeholder: 'FILE' },
  },
  run: async ({ args, flags, io }) => {
    const r = breed(await read(args.A), await read(args.B), {
      random: seededRandom(Number(flags.seed)),
      asm: defaultRegistry().asmOptions(),
    })
    if (!r.ok) throw new UserError(`child does not verify: ${r.errors.map(formatDiagnostic).join('; ')}`)
    if (typeof flags.out === 'string') await writeFile(flags.out, r.source)
    if (flags.json) printJson(io, { origin: r.origin, mutations: r.mutations, out: flags.out ?? null })
    else if (typeof flags.out === 'string')
      io.out(`child written to ${flags.out} (origin ${JSON.stringify(r.origin)}, ${r.mutations} mutations)\n`)
    else io.out(`${r.source}\n`)
    return 0
  },
}

export const commands: Command[] = [
  {
    name: 'vm',
    summary: 'the agent VM: check, run, replay, breed',
    subcommands: [check, run, replay, breedCmd],
  },
]
