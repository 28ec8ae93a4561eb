/**
 * Helpers for end-to-end tests that run swarmd as real processes: the CLI as
 * a child process, and `swarmd start` waited on until its one ready line.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Cleanup } from './node_helpers.ts'

export const BIN = fileURLToPath(new URL('../../bin/swarmd.js', import.meta.url))

/** Flags that keep a test daemon on loopback with ephemeral ports and no LAN discovery. */
export const LOOPBACK_FLAGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns']

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Run `swarmd ARGS...` and collect its exit code and output. */
export function cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr })
    })
  })
}

/** Run `swarmd ARGS... --json` and parse its output; throws with stderr on failure. */
export async function cliJson<T>(args: string[], timeoutMs?: number): Promise<T> {
  const r = await cli([...args, '--json'], timeoutMs)
  if (r.code !== 0) throw new Error(`swarmd ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

export interface Daemon {
  child: ChildProcess
  /** The daemon's ready line. */
  ready: string
  /** Milliseconds from spawn to the ready line. */
  readyMs: number
  exited: Promise<number | null>
}

/**
 * Spawn `swarmd start ARGS...` (killed by `cleanup`) and wait for its one ready line. `nodeArgs` go to
 * Node itself (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow).
 */
export function startDaemon(
  cleanup: Cleanup,
  args: string[],
  readyTimeoutMs = 60_000,
  nodeArgs: string[] = [],
): Promise<Daemon> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(
      () => reject(new Error(`daemon not ready in time: ${out} ${err}`)),
      readyTimeoutMs,
    )
    child.stderr!.on('data', (d) => {
      err += String(d)
    })
    child.stdout!.on('data', (d) => {
      out += String(d)
      const line = out.split('\n').find((l) => l.includes(' ready: '))
      if (line) {
        clearTimeout(timer)
        resolve({ child, ready: line, readyMs: performance.now() - t0, exited })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`daemon exited with ${code} before ready: ${out} ${err}`))
    })
  })
}
