/**
 * The repository directory: everything one node persists.
 *
 * ```
 * <repo>/
 *   version        repository format version ("1")
 *   identity.key   Ed25519 libp2p private key, protobuf (mode 0600)
 *   api-token      control API bearer token (mode 0600)
 *   config.json    validated node config (see config.ts)
 *   datastore/     libp2p peer store and DHT records (datastore-level)
 *   db/            the node's own LevelDB (LevelKv, prefix registry in docs/node.md)
 *   logs/          swarmd.log (JSON lines)
 *   repo.lock      pid of the daemon holding the repository
 *   daemon.json    { pid, apiPort, peerId, addresses, startedAt, version } while a daemon is ready
 * ```
 */
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { SwarmdError, UserError } from '../common/index.ts'
import {
  applyOverrides,
  type ConfigOverrides,
  DEFAULT_CONFIG,
  type NodeConfig,
  parseConfigText,
} from './config.ts'

export const REPO_VERSION = 1

export interface RepoPaths {
  root: string
  version: string
  key: string
  token: string
  config: string
  datastore: string
  db: string
  logs: string
  logFile: string
  lock: string
  daemon: string
}

export function repoPaths(root: string): RepoPaths {
  return {
    root,
    version: join(root, 'version'),
    key: join(root, 'identity.key'),
    token: join(root, 'api-token'),
    config: join(root, 'config.json'),
    datastore: join(root, 'datastore'),
    db: join(root, 'db'),
    logs: join(root, 'logs'),
    logFile: join(root, 'logs', 'swarmd.log'),
    lock: join(root, 'repo.lock'),
    daemon: join(root, 'daemon.json'),
  }
}

/** `--repo` flag, else `$SWARMD_REPO`, else `~/.swarmd`. */
export function resolveRepoPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = flag ?? env.SWARMD_REPO ?? join(homedir(), '.swarmd')
  return resolve(p)
}

export function repoExists(root: string): boolean {
  return existsSync(repoPaths(root).version)
}

export interface InitOptions {
  overrides?: ConfigOverrides
  /** Re-initialise an existing repository: rewrites config.json and api-token, keeps the identity key and data. */
  force?: boolean
}

/** Create a repository. Returns the peer id. Refuses an existing one unless `force`. */
export async function initRepo(
  root: string,
  opts: InitOptions = {},
): Promise<{ peerId: string; repo: string }> {
  const p = repoPaths(root)
  if (repoExists(root)) {
    if (!opts.force) {
      throw new UserError(`repository ${root} already exists (use --force to re-initialise it)`)
    }
    const holder = lockHolder(p.lock)
    if (holder !== undefined) {
      throw new UserError(`repository ${root} is in use by a running swarmd (pid ${holder}); stop it first`)
    }
  }
  const config = applyOverrides(DEFAULT_CONFIG, opts.overrides ?? {})
  mkdirSync(root, { recursive: true })
  for (const dir of [p.datastore, p.db, p.logs]) mkdirSync(dir, { recursive: true })
  let key: PrivateKey
  if (existsSync(p.key)) {
    key = loadKey(p.key)
  } else {
    key = await generateKeyPair('Ed25519')
    writeSecret(p.key, privateKeyToProtobuf(key))
  }
  writeSecret(p.token, `${randomBytes(32).toString('hex')}\n`)
  writeFileSync(p.config, `${JSON.stringify(config, null, 2)}\n`)
  writeFileSync(p.version, `${REPO_VERSION}\n`)
  return { peerId: peerIdFromPrivateKey(key).toString(), repo: root }
}

function writeSecret(path: string, data: Uint8Array | string): void {
  writeFileSync(path, data, { mode: 0o600 })
  chmodSync(path, 0o600)
}

export function loadKey(path: string): PrivateKey {
  let buf: Buffer
  try {
    buf = readFileSync(path)
  } catch (err) {
    throw new UserError(`cannot read identity key ${path}: ${(err as Error).message}`)
  }
  try {
    return privateKeyFromProtobuf(buf)
  } catch (err) {
    throw new UserError(`identity key ${path} is corrupt (${(err as Error).message})`)
  }
}

export interface Repo {
  root: string
  paths: RepoPaths
  config: NodeConfig
  privateKey: PrivateKey
  peerId: string
  token: string
}

/** Open an existing repository (no lock taken): checks its version, reads config, key and token. */
export function openRepo(root: string): Repo {
  const p = repoPaths(root)
  if (!existsSync(root)) {
    throw new UserError(`no repository at ${root} (create one with \`swarmd init --repo ${root}\`)`)
  }
  if (!existsSync(p.version)) {
    throw new UserError(`${root} is not a swarmd repository (no version file); run \`swarmd init\``)
  }
  const raw = readFileSync(p.version, 'utf8').trim()
  const version = Number(raw)
  if (!Number.isInteger(version)) {
    throw new UserError(`repository ${root}: unreadable version file (${JSON.stringify(raw)})`)
  }
  if (version !== REPO_VERSION) {
    throw new UserError(
      `repository ${root} has format version ${version}, this swarmd reads version ${REPO_VERSION}` +
        (version > REPO_VERSION ? ' (it was written by a newer swarmd)' : ''),
    )
  }
  const config = parseConfigText(readFileSync(p.config, 'utf8'), p.config)
  const privateKey = loadKey(p.key)
  const token = readFileSync(p.token, 'utf8').trim()
  if (token.length < 16) throw new UserError(`repository ${root}: api-token is empty or too short`)
  return { root, paths: p, config, privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), token }
}

// ---------------------------------------------------------------- lock

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid holding the lock if that process is alive, else undefined. */
export function lockHolder(lockPath: string): number | undefined {
  let text: string
  try {
    text = readFileSync(lockPath, 'utf8')
  } catch {
    return undefined
  }
  const pid = Number.parseInt(text.trim(), 10)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return pidAlive(pid) ? pid : undefined
}

export function alreadyInUse(root: string, pid?: number): SwarmdError {
  return new SwarmdError(
    'REPO_LOCKED',
    `repository ${root} is already in use by another swarmd process${pid !== undefined ? ` (pid ${pid})` : ''}`,
  )
}

/**
 * Take the repository lock: an exclusive `repo.lock` holding our pid. A lock
 * whose pid is dead is stale and taken over. Returns the release function.
 */
export function acquireLock(root: string): () => void {
  const p = repoPaths(root)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(p.lock, 'wx', 0o600)
      writeFileSync(fd, `${process.pid}\n`)
      closeSync(fd)
      let released = false
      return () => {
        if (released) return
        released = true
        try {
          if (readFileSync(p.lock, 'utf8').trim() === String(process.pid)) rmSync(p.lock, { force: true })
        } catch {
          // already gone
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = lockHolder(p.lock)
      if (holder !== undefined && holder !== process.pid) throw alreadyInUse(root, holder)
      if (holder === process.pid) throw alreadyInUse(root, holder)
      rmSync(p.lock, { force: true }) // stale: its process is gone
    }
  }
  throw alreadyInUse(root)
}

// ---------------------------------------------------------------- daemon.json

export interface DaemonInfo {
  pid: number
  apiPort: number
  peerId: string
  addresses: string[]
  startedAt: number
  version: string
}

export function writeDaemonInfo(root: string, info: DaemonInfo): void {
  writeFileSync(repoPaths(root).daemon, `${JSON.stringify(info, null, 2)}\n`)
}

export function readDaemonInfo(root: string): DaemonInfo | undefined {
  try {
    return JSON.parse(readFileSync(repoPaths(root).daemon, 'utf8')) as DaemonInfo
  } catch {
    return undefined
  }
}

export function removeDaemonInfo(root: string): void {
  rmSync(repoPaths(root).daemon, { force: true })
}
