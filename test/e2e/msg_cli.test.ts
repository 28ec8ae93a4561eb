import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { initRepo } from '../../src/node/repo.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'

const BIN = fileURLToPath(new URL('../../bin/swarmd.js', import.meta.url))

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

function cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr })
    })
  })
}

interface Daemon {
  child: ChildProcess
  ready: string
  exited: Promise<number | null>
}

/** Spawn `swarmd start` and wait for its one ready line. */
function startDaemon(cleanup: Cleanup, args: string[]): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`daemon not ready in time: ${out} ${err}`)), 30_000)
    child.stderr!.on('data', (d) => {
      err += String(d)
    })
    child.stdout!.on('data', (d) => {
      out += String(d)
      const line = out.split('\n').find((l) => l.includes(' ready: '))
      if (line) {
        clearTimeout(timer)
        resolve({ child, ready: line, exited })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`daemon exited with ${code} before ready: ${out} ${err}`))
    })
  })
}

const LOOP = ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns']

describe('swarmd msg between two daemon processes', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('whoami, send (direct) and inbox, with --json and one-line errors', async () => {
    const dir = tempDir(cleanup, 'swarmd-msg-cli-')
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    // A generous delivery timeout (the test machine may be loaded): written into config.json.
    const slow = {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      'api.port': 0,
      mdns: false,
      'e2e.deliveryTimeoutMs': 15_000,
    }
    await initRepo(a, { overrides: slow })
    await initRepo(b, { overrides: slow })
    await startDaemon(cleanup, ['--repo', a, ...LOOP])
    const infoA = JSON.parse(readFileSync(join(a, 'daemon.json'), 'utf8')) as { addresses: string[] }
    await startDaemon(cleanup, ['--repo', b, ...LOOP, '--bootstrap', infoA.addresses[0]!])

    const whoA = await cli(['msg', 'whoami', '--repo', a, '--json'])
    expect(whoA.code).toBe(0)
    const meA = JSON.parse(whoA.stdout) as {
      agentId: string
      card: { body: { agentId: string; node: string } }
    }
    expect(meA.agentId).toMatch(/^[0-9a-f]{64}$/)
    expect(meA.card.body.agentId).toBe(meA.agentId)
    const whoB = await cli(['msg', 'whoami', '--repo', b])
    expect(whoB.stdout.trim()).toMatch(/^[0-9a-f]{64}$/)

    // Once A's card is in the DHT, B can send to it.
    let sent: { messageId: string; to: string; via: string } | undefined
    await waitFor(
      async () => {
        const r = await cli(['msg', 'send', meA.agentId, 'hello', 'over', 'there', '--repo', b, '--json'])
        if (r.code === 0) sent = JSON.parse(r.stdout) as typeof sent
        return r.code === 0
      },
      40_000,
      500,
    )
    expect(sent).toMatchObject({ to: meA.agentId, via: 'direct' })

    const inbox = await cli(['msg', 'inbox', '--repo', a, '--json'])
    expect(inbox.code).toBe(0)
    const box = JSON.parse(inbox.stdout) as {
      agentId: string
      messages: { from: string; text: string; via: string; messageId: string }[]
    }
    expect(box.agentId).toBe(meA.agentId)
    expect(box.messages).toMatchObject([
      { from: whoB.stdout.trim(), text: 'hello over there', via: 'direct', messageId: sent!.messageId },
    ])
    const human = await cli(['msg', 'inbox', meA.agentId, '--repo', a])
    expect(human.stdout).toContain('hello over there')

    const bad = await cli(['msg', 'send', 'not-an-agent', 'x', '--repo', b])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toContain('invalid agent id')
  })
})
