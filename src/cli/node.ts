/**
 * CLI commands of the node: init, start, id, status, peers, connect, caps.
 * The devnet scripts depend on these flags and JSON shapes (docs/node.md).
 */
import { createWriteStream, existsSync } from 'node:fs'
import { createLogger, jsonLineSink, UserError } from '../common/index.ts'
import { NodeClient } from '../node/client.ts'
import type { ConfigOverrides } from '../node/config.ts'
import { SwarmNode } from '../node/node.ts'
import { defaultServices } from '../node/services.ts'
import { initRepo, openRepo, repoExists, repoPaths, resolveRepoPath } from '../node/repo.ts'
import { SWARMD_VERSION } from '../node/version.ts'
import { daemonClient } from './daemon.ts'
import { type Command, type CommandContext, type FlagSpec, printJson, table } from './command.ts'

const NODE_FLAGS: Record<string, FlagSpec> = {
  listen: { type: 'list', description: 'libp2p listen multiaddrs, comma-separated', placeholder: 'MA,...' },
  'api-port': { type: 'integer', description: 'control API port on 127.0.0.1 (0 = any)', min: 0, max: 65535 },
  bootstrap: {
    type: 'list',
    description: 'bootstrap peer multiaddrs (with /p2p/<id>)',
    placeholder: 'MA,...',
  },
  mdns: { type: 'boolean', description: 'LAN discovery by mDNS (--no-mdns to turn off)' },
  k: { type: 'integer', description: 'DHT bucket size k', min: 2, max: 256 },
}

function overridesFrom(flags: CommandContext['flags']): ConfigOverrides {
  const o: ConfigOverrides = {}
  if (flags.listen !== undefined) o.listen = flags.listen
  if (flags['api-port'] !== undefined) o['api.port'] = flags['api-port']
  if (flags.bootstrap !== undefined) o.bootstrap = flags.bootstrap
  if (flags.mdns !== undefined) o.mdns = flags.mdns
  if (flags.k !== undefined) o['dht.kBucketSize'] = flags.k
  if (flags['log-level'] !== undefined) o['log.level'] = flags['log-level']
  return o
}

const repoOf = (ctx: CommandContext) => resolveRepoPath(ctx.flags.repo as string | undefined)

const init: Command = {
  name: 'init',
  summary: 'create a node repository (identity key, config, API token, databases)',
  flags: {
    ...NODE_FLAGS,
    force: { type: 'boolean', description: 're-initialise an existing repository (keeps its identity key)' },
  },
  async run(ctx) {
    const root = repoOf(ctx)
    const res = await initRepo(root, { overrides: overridesFrom(ctx.flags), force: Boolean(ctx.flags.force) })
    if (ctx.flags.json) printJson(ctx.io, res)
    else ctx.io.out(`initialised ${res.repo}\npeer id ${res.peerId}\n`)
    return 0
  },
}

const start: Command = {
  name: 'start',
  summary: 'run the node daemon in the foreground (initialises the repository if missing)',
  description:
    'Logs JSON lines to <repo>/logs/swarmd.log and prints one line when ready. SIGINT or SIGTERM stops it\n' +
    'gracefully (stop intake, drain, persist, close the database); a second SIGINT forces exit.',
  flags: {
    ...NODE_FLAGS,
    'log-level': {
      type: 'string',
      description: 'log level',
      choices: ['trace', 'debug', 'info', 'warn', 'error'],
    },
  },
  async run(ctx) {
    const root = repoOf(ctx)
    if (!repoExists(root)) {
      if (existsSync(repoPaths(root).config))
        throw new UserError(`${root} looks like a damaged repository (no version file)`)
      // A first start initialises the repository with the given flags as its config.
      await initRepo(root, { overrides: overridesFrom(ctx.flags) })
    }
    const repo = openRepo(root)
    const overrides = overridesFrom(ctx.flags)
    const logStream = createWriteStream(repo.paths.logFile, { flags: 'a' })
    const closeLog = () => new Promise<void>((r) => logStream.end(() => r()))
    const level = (ctx.flags['log-level'] as string | undefined) ?? repo.config.log.level
    const logger = createLogger({
      level: level as 'info',
      sink: jsonLineSink((line) => logStream.write(line)),
    })
    const onUnhandled = (err: unknown) =>
      logger.error('unhandled error (daemon keeps running)', { error: err })
    process.on('unhandledRejection', onUnhandled)
    process.on('uncaughtException', onUnhandled)
    const node = new SwarmNode({ repo, overrides, logger, services: defaultServices() })
    try {
      await node.start()
    } catch (err) {
      await closeLog()
      throw err
    }
    const st = node.status()
    ctx.io.out(
      `swarmd ${SWARMD_VERSION} ready: peer ${node.peerId}, api 127.0.0.1:${node.control.port}, listening ${st.addresses.join(', ')}\n`,
    )
    await new Promise<void>((resolve) => {
      let stopping = false
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) {
          if (sig === 'SIGINT') {
            ctx.io.err('swarmd: second SIGINT, exiting now\n')
            process.exit(130)
          }
          return
        }
        stopping = true
        logger.info('shutting down', { signal: sig })
        node
          .stop()
          .catch((err: unknown) => logger.error('stop failed', { error: err }))
          .finally(() => {
            logger.info('stopped')
            process.off('SIGINT', onSignal)
            process.off('SIGTERM', onSignal)
            resolve()
          })
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    process.off('unhandledRejection', onUnhandled)
    process.off('uncaughtException', onUnhandled)
    await closeLog()
    return 0
  },
}

const id: Command = {
  name: 'id',
  summary: "print this node's peer id (and addresses when the daemon runs)",
  async run(ctx) {
    const root = repoOf(ctx)
    const repo = openRepo(root)
    const client = NodeClient.tryRepo(root)
    const addresses = client ? (await client.id().catch(() => ({ addresses: [] as string[] }))).addresses : []
    if (ctx.flags.json) printJson(ctx.io, { peerId: repo.peerId, addresses })
    else {
      ctx.io.out(`${repo.peerId}\n`)
      for (const a of addresses) ctx.io.out(`  ${a}\n`)
      if (!client) ctx.io.out('(daemon not running: no addresses)\n')
    }
    return 0
  },
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
}

const status: Command = {
  name: 'status',
  summary: 'report the running daemon: peer id, addresses, peers, DHT, capabilities',
  async run(ctx) {
    const st = await daemonClient(ctx).status()
    if (ctx.flags.json) {
      printJson(ctx.io, st)
      return 0
    }
    const rows: [string, string][] = [
      ['peer id', st.peerId],
      ['version', st.version],
      ['uptime', duration(st.uptimeMs)],
      ['peers', String(st.peers)],
      ['dht', `${st.dht.mode}, routing table ${st.dht.routingTableSize}`],
      ['capabilities', st.capabilities.join(', ') || '-'],
      ...st.addresses.map((a, i) => [i === 0 ? 'addresses' : '', a] as [string, string]),
    ]
    ctx.io.out(`${rows.map(([k, v]) => `${k.padEnd(13)}${v}`).join('\n')}\n`)
    return 0
  },
}

const peers: Command = {
  name: 'peers',
  summary: 'list connected peers',
  async run(ctx) {
    const res = await daemonClient(ctx).peers()
    if (ctx.flags.json) printJson(ctx.io, res)
    else if (res.peers.length === 0) ctx.io.out('no peers connected\n')
    else
      ctx.io.out(
        `${table(
          ['PEER', 'ADDRESSES'],
          res.peers.map((p) => [p.peerId, p.addresses.join(' ')]),
        )}\n`,
      )
    return 0
  },
}

const connect: Command = {
  name: 'connect',
  summary: 'dial a peer by multiaddr (/ip4/.../tcp/.../p2p/<id>)',
  positionals: [{ name: 'MULTIADDR', description: 'address of the peer', required: true }],
  async run(ctx) {
    const res = await daemonClient(ctx).connect(ctx.args.MULTIADDR!)
    if (ctx.flags.json) printJson(ctx.io, res)
    else ctx.io.out(`connected to ${res.peerId} (${res.addresses.join(', ')})\n`)
    return 0
  },
}

const nameArg = [{ name: 'NAME', description: 'capability name, e.g. image-ocr', required: true }]

const caps: Command = {
  name: 'caps',
  summary: 'advertise, withdraw and find capabilities in the DHT',
  subcommands: [
    {
      name: 'provide',
      summary: 'advertise a capability for this node (kept across restarts until withdrawn)',
      positionals: nameArg,
      async run(ctx) {
        const res = await daemonClient(ctx).provide(ctx.args.NAME!)
        if (ctx.flags.json) printJson(ctx.io, res)
        else
          ctx.io.out(
            res.announcedTo > 0
              ? `providing ${res.capability} (announced to ${res.announcedTo} peers)\n`
              : `providing ${res.capability} (no peers yet: announced when one connects)\n`,
          )
        return 0
      },
    },
    {
      name: 'withdraw',
      summary: 'stop advertising a capability',
      positionals: nameArg,
      async run(ctx) {
        const res = await daemonClient(ctx).withdraw(ctx.args.NAME!)
        if (ctx.flags.json) printJson(ctx.io, res)
        else
          ctx.io.out(res.withdrawn ? `withdrew ${res.capability}\n` : `${res.capability} was not provided\n`)
        return 0
      },
    },
    {
      name: 'find',
      summary: 'find the providers of a capability',
      positionals: nameArg,
      flags: {
        timeout: { type: 'integer', description: 'give up after this many ms', min: 1, placeholder: 'MS' },
        limit: { type: 'integer', description: 'stop after this many providers', min: 1, placeholder: 'N' },
        all: {
          type: 'boolean',
          description: 'wait for the whole DHT query (default: return shortly after the first provider)',
        },
      },
      async run(ctx) {
        const res = await daemonClient(ctx).find(ctx.args.NAME!, {
          ...(ctx.flags.timeout !== undefined ? { timeoutMs: ctx.flags.timeout as number } : {}),
          ...(ctx.flags.limit !== undefined ? { limit: ctx.flags.limit as number } : {}),
          ...(ctx.flags.all ? { all: true } : {}),
        })
        if (ctx.flags.json) printJson(ctx.io, res)
        else if (res.providers.length === 0)
          ctx.io.out(`no providers of ${res.capability} (${res.elapsedMs} ms)\n`)
        else
          ctx.io.out(
            `${table(
              ['PROVIDER', 'ADDRESSES'],
              res.providers.map((p) => [p.peerId, p.addresses.join(' ') || '-']),
            )}\n${res.providers.length} provider(s) of ${res.capability} in ${res.elapsedMs} ms\n`,
          )
        return 0
      },
    },
  ],
}

export const commands: Command[] = [init, start, id, status, peers, connect, caps]
