import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger, UserError } from '../../../src/common/index.ts'
import { ControlServer, RawResponse } from '../../../src/node/control.ts'

const TOKEN = 'a'.repeat(64)

describe('control server', () => {
  const server = new ControlServer(TOKEN, { logger: silentLogger })
  let base = ''
  const call = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    fetch(base + path, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    })

  beforeAll(async () => {
    server.route('GET', '/v1/echo', (req) => ({ q: req.query.get('q') }))
    server.route('POST', '/v1/echo', (req) => ({ body: req.body }))
    server.route('GET', '/v1/fail', () => {
      throw new UserError('bad input')
    })
    server.route('GET', '/v1/bug', () => {
      throw new Error('oops')
    })
    server.route('GET', '/metrics', () => new RawResponse('m 1\n'))
    base = `http://127.0.0.1:${await server.start(0)}`
  })
  afterAll(() => server.stop())

  it('refuses requests without the right bearer token', async () => {
    expect((await call('/v1/echo', {}, null)).status).toBe(401)
    expect((await call('/v1/echo', {}, 'b'.repeat(64))).status).toBe(401)
    expect((await call('/v1/echo', {}, 'short')).status).toBe(401)
    expect((await call('/nope', {}, null)).status).toBe(401) // no route discovery without a token
  })

  it('routes JSON in and out, raw text, and maps errors to status codes', async () => {
    expect(await (await call('/v1/echo?q=x')).json()).toEqual({ q: 'x' })
    expect(await (await call('/v1/echo', { method: 'POST', body: '{"a":1}' })).json()).toEqual({
      body: { a: 1 },
    })
    const bad = await call('/v1/echo', { method: 'POST', body: '{nope' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_JSON')
    const fail = await call('/v1/fail')
    expect(fail.status).toBe(400)
    expect(await fail.json()).toEqual({ error: { code: 'USER_ERROR', message: 'bad input' } })
    expect((await call('/v1/bug')).status).toBe(500)
    expect((await call('/v1/none')).status).toBe(404)
    expect((await call('/v1/fail', { method: 'POST' })).status).toBe(405)
    const m = await call('/metrics')
    expect(await m.text()).toBe('m 1\n')
  })

  it('refuses a duplicate route', () => {
    expect(() => server.route('GET', '/v1/echo', () => 1)).toThrow('already registered')
  })
})
