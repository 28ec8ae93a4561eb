/**
 * A small, tidy command framework in the style of unjs/citty: each command
 * declares its flags, positionals and help text as data; one parser validates
 * everything before `run` is called, so a bad flag is one clear line and a
 * non-zero exit, never a stack trace.
 */
import { UserError } from '../common/errors.ts'

export type FlagType = 'string' | 'number' | 'integer' | 'boolean' | 'list'

export interface FlagSpec {
  type: FlagType
  description: string
  /** Value used when the flag is absent. */
  default?: string | number | boolean | string[]
  /** For `string`: the accepted values. */
  choices?: readonly string[]
  /** For `number`/`integer`: inclusive bounds. */
  min?: number
  max?: number
  /** Placeholder shown in help (`--load L`). */
  placeholder?: string
}

export interface PositionalSpec {
  name: string
  description: string
  required?: boolean
  /** Collects every remaining positional. */
  variadic?: boolean
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>

export interface Io {
  out(text: string): void
  err(text: string): void
  /** True when stdout is a terminal (progress bars, colours). */
  isTty: boolean
}

export interface CommandContext {
  /** Positionals by name (variadic ones joined in `rest`). */
  args: Record<string, string | undefined>
  rest: string[]
  flags: FlagValues
  io: Io
  /** The full command path, e.g. `swarmd caps find`. */
  path: string
}

export interface Command {
  name: string
  summary: string
  /** Longer help shown by `--help`, after the usage line. */
  description?: string
  flags?: Record<string, FlagSpec>
  positionals?: PositionalSpec[]
  subcommands?: Command[]
  /** Exit code (default 0). */
  run?: (ctx: CommandContext) => Promise<number | undefined> | number | undefined
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  repo: {
    type: 'string',
    description: 'repository directory (default $SWARMD_REPO, else ~/.swarmd)',
    placeholder: 'DIR',
  },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', description: 'show this help' },
}

export function helpText(cmd: Command, path: string): string {
  const lines: string[] = []
  const pos = (cmd.positionals ?? []).map((p) => {
    const n = p.variadic ? `${p.name}...` : p.name
    return p.required ? n : `[${n}]`
  })
  const sub = cmd.subcommands?.length ? ' <command>' : ''
  lines.push(`Usage: ${path}${sub}${pos.length ? ` ${pos.join(' ')}` : ''} [flags]`, '')
  lines.push(cmd.summary)
  if (cmd.description) lines.push('', cmd.description.trim())
  if (cmd.subcommands?.length) {
    lines.push('', 'Commands:')
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length))
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(w)}  ${c.summary}`)
  }
  if (cmd.positionals?.length) {
    lines.push('', 'Arguments:')
    const w = Math.max(...cmd.positionals.map((p) => p.name.length))
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(w)}  ${p.description}`)
  }
  const flags = { ...(cmd.flags ?? {}), ...GLOBAL_FLAGS }
  lines.push('', 'Flags:')
  const rows = Object.entries(flags).map(([name, spec]) => {
    const ph = spec.type === 'boolean' ? '' : ` ${spec.placeholder ?? spec.type.toUpperCase()}`
    let desc = spec.description
    if (spec.choices) desc += ` (${spec.choices.join('|')})`
    if (spec.default !== undefined && spec.default !== false) desc += ` [default: ${String(spec.default)}]`
    return [`--${name}${ph}`, desc] as const
  })
  const w = Math.max(...rows.map((r) => r[0].length))
  for (const [f, d] of rows) lines.push(`  ${f.padEnd(w)}  ${d}`)
  return lines.join('\n')
}

/** Parse argv for one (leaf) command. Throws `UserError` with one clear line. */
export function parseArgs(
  cmd: Command,
  argv: string[],
  path: string,
): { args: Record<string, string | undefined>; rest: string[]; flags: FlagValues } {
  const specs = { ...(cmd.flags ?? {}), ...GLOBAL_FLAGS }
  const flags: FlagValues = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (a.startsWith('--') && a.length > 2) {
      let name = a.slice(2)
      let value: string | undefined
      const eq = name.indexOf('=')
      if (eq >= 0) {
        value = name.slice(eq + 1)
        name = name.slice(0, eq)
      }
      let spec = specs[name]
      if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean') {
        flags[name.slice(3)] = false
        continue
      }
      if (!spec) throw new UserError(`unknown flag --${name} for '${path}' (see '${path} --help')`)
      if (spec.type === 'boolean') {
        if (value === undefined) flags[name] = true
        else if (value === 'true' || value === 'false') flags[name] = value === 'true'
        else throw new UserError(`--${name} takes no value or true|false, got '${value}'`)
        continue
      }
      if (value === undefined) {
        const next = argv[i + 1]
        if (next === undefined || (next.startsWith('--') && next.length > 2)) {
          throw new UserError(`--${name} needs a value (${spec.placeholder ?? spec.type})`)
        }
        value = next
        i++
      }
      flags[name] = coerce(name, spec, value, flags[name])
      spec = undefined
      continue
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      if (a === '-h') {
        flags.help = true
        continue
      }
      throw new UserError(`unknown flag ${a} for '${path}' (see '${path} --help')`)
    }
    positionals.push(a)
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default
  }
  const args: Record<string, string | undefined> = {}
  let rest: string[] = []
  const pspecs = cmd.positionals ?? []
  let p = 0
  for (const ps of pspecs) {
    if (ps.variadic) {
      rest = positionals.slice(p)
      p = positionals.length
      args[ps.name] = rest.join(' ') || undefined
      if (ps.required && rest.length === 0 && !flags.help)
        throw new UserError(`missing ${ps.name} (see '${path} --help')`)
      continue
    }
    const v = positionals[p++]
    args[ps.name] = v
    if (ps.required && v === undefined && !flags.help)
      throw new UserError(`missing ${ps.name} (see '${path} --help')`)
  }
  if (p < positionals.length && !flags.help) {
    throw new UserError(`unexpected argument '${positionals[p]}' for '${path}' (see '${path} --help')`)
  }
  return { args, rest, flags }
}

function coerce(name: string, spec: FlagSpec, value: string, prev: FlagValues[string]): FlagValues[string] {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(value)) {
        throw new UserError(`--${name} must be one of ${spec.choices.join(', ')}; got '${value}'`)
      }
      return value
    case 'list': {
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      return [...(Array.isArray(prev) ? prev : []), ...items]
    }
    case 'number':
    case 'integer': {
      const n = Number(value)
      if (value.trim() === '' || !Number.isFinite(n))
        throw new UserError(`--${name} must be a number; got '${value}'`)
      if (spec.type === 'integer' && !Number.isInteger(n)) {
        throw new UserError(`--${name} must be a whole number; got '${value}'`)
      }
      if (spec.min !== undefined && n < spec.min)
        throw new UserError(`--${name} must be >= ${spec.min}; got ${n}`)
      if (spec.max !== undefined && n > spec.max)
        throw new UserError(`--${name} must be <= ${spec.max}; got ${n}`)
      return n
    }
    default:
      return value
  }
}

/** Resolve the subcommand path in argv and run the leaf. Returns the exit code. */
export async function runCommand(root: Command, argv: string[], io: Io): Promise<number> {
  let cmd = root
  let path = root.name
  let i = 0
  // Global flags may come before the command (`swarmd --repo D status`).
  const early: string[] = []
  while (cmd.subcommands?.length && i < argv.length) {
    const a = argv[i]!
    const eq = a.indexOf('=')
    const name = a.startsWith('--') ? a.slice(2, eq > 0 ? eq : undefined) : ''
    const global = GLOBAL_FLAGS[name]
    if (global && name !== 'help') {
      const takesValue = global.type !== 'boolean' && eq < 0
      early.push(...argv.slice(i, i + (takesValue ? 2 : 1)))
      i += takesValue ? 2 : 1
      continue
    }
    if (a.startsWith('-')) break
    const sub = cmd.subcommands.find((c) => c.name === a)
    if (!sub) {
      throw new UserError(`unknown command '${a}' for '${path}' (see '${path} --help')`)
    }
    cmd = sub
    path = `${path} ${a}`
    i++
  }
  const rest = [...early, ...argv.slice(i)]
  if (!cmd.run) {
    if (rest.includes('--help') || rest.includes('-h') || rest.length === 0) {
      io.out(`${helpText(cmd, path)}\n`)
      return rest.length === 0 && cmd !== root ? 2 : 0
    }
    throw new UserError(`'${path}' needs a command (see '${path} --help')`)
  }
  const parsed = parseArgs(cmd, rest, path)
  if (parsed.flags.help) {
    io.out(`${helpText(cmd, path)}\n`)
    return 0
  }
  const code = await cmd.run({ ...parsed, io, path })
  return code ?? 0
}

/** Print JSON the same way everywhere (two-space indent, trailing newline). */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`)
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)))
  return cells
    .map((r) =>
      r
        .map((v, c) => (v ?? '').padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
