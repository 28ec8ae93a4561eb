import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { initRepo } from '../../src/node/repo.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { cli, startDaemon } from './process_helpers.ts'

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

    // A send attempt that timed out at the CLI under load may still have been delivered: wait for the
    // message whose id the successful send reported, next to any such earlier copy.
    type Box = { agentId: string; messages: { from: string; text: string; via: string; messageId: string }[] }
    let box: Box | undefined
    await waitFor(async () => {
      const inbox = await cli(['msg', 'inbox', '--repo', a, '--json'])
      expect(inbox.code).toBe(0)
      box = JSON.parse(inbox.stdout) as Box
      return box.messages.some((m) => m.messageId === sent!.messageId)
    }, 20_000)
    expect(box!.agentId).toBe(meA.agentId)
    expect(box!.messages.find((m) => m.messageId === sent!.messageId)).toMatchObject({
      from: whoB.stdout.trim(),
      text: 'hello over there',
      via: 'direct',
    })
    expect(box!.messages.every((m) => m.text === 'hello over there')).toBe(true)
    const human = await cli(['msg', 'inbox', meA.agentId, '--repo', a])
    expect(human.stdout).toContain('hello over there')

    const bad = await cli(['msg', 'send', 'not-an-agent', 'x', '--repo', b])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toContain('invalid agent id')
  })
})
