/**
 * The control API: HTTP/JSON on 127.0.0.1 only, every request authenticated
 * with `Authorization: Bearer <token>` (the repository's `api-token`); a
 * missing or wrong token gets 401. Routes are registered by the node and by
 * later subsystems through `route(method, path, handler)`. Handlers return a
 * JSON value (200) or a `RawResponse` (for `/metrics`); a `UserError` or
 * `SwarmdError` they throw becomes a 400 `{ "error": { code, message } }`.
 */
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../common/index.ts'
import { errorMessage, isSwarmdError, SwarmdError } from '../common/index.ts'
import type { NodeMetrics } from './metrics.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface ControlRequest {
  method: HttpMethod
  path: string
  query: URLSearchParams
  /** Parsed JSON body (POST/PUT), else undefined. */
  body: unknown
  /** Aborted when the client disconnects or the server stops. */
  signal: AbortSignal
}

export class RawResponse {
  readonly contentType: string
  readonly text: string
  readonly status: number
  constructor(text: string, contentType = 'text/plain; charset=utf-8', status = 200) {
    this.text = text
    this.contentType = contentType
    this.status = status
  }
}

export type ControlHandler = (req: ControlRequest) => Promise<unknown> | unknown

const MAX_BODY_BYTES = 1024 * 1024

/** HTTP status for an error code thrown by a handler. */
const STATUS_BY_CODE: Record<string, number> = { NOT_FOUND: 404, UNAVAILABLE: 503 }

export interface ControlComponents {
  logger: Logger
  metrics?: NodeMetrics
}

export class ControlServer {
  private readonly routes = new Map<string, ControlHandler>()
  private readonly token: Buffer
  private readonly log: Logger
  private readonly metrics: NodeMetrics | undefined
  private server: Server | undefined
  private readonly stopController = new AbortController()
  private accepting = false

  constructor(token: string, components: ControlComponents) {
    this.token = Buffer.from(token)
    this.log = components.logger.forComponent('swarmd:control')
    this.metrics = components.metrics
  }

  /** Register a route. `path` is exact (`/v1/status`); query strings go in `req.query`. */
  route(method: HttpMethod, path: string, handler: ControlHandler): void {
    const key = `${method} ${path}`
    if (this.routes.has(key)) throw new SwarmdError('ROUTE_EXISTS', `control route ${key} already registered`)
    this.routes.set(key, handler)
  }

  /** Listen on 127.0.0.1:`port` (0 picks one). Returns the port. */
  async start(port: number): Promise<number> {
    if (this.server) return this.port
    const server = createServer((req, res) => void this.dispatch(req, res))
    server.keepAliveTimeout = 1000
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new SwarmdError(
                'API_PORT_IN_USE',
                `control API port 127.0.0.1:${port} is already in use (set api.port or --api-port)`,
              )
            : err,
        ),
      )
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.server = server
    this.accepting = true
    return this.port
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0
  }

  /** Stop accepting requests (in-flight ones get 503 from now on), then close. */
  async stop(): Promise<void> {
    this.accepting = false
    const server = this.server
    if (!server) return
    this.server = undefined
    this.stopController.abort()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private authorised(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? ''
    const m = /^Bearer (.+)$/.exec(h)
    if (!m) return false
    const given = Buffer.from(m[1]!.trim())
    return given.length === this.token.length && timingSafeEqual(given, this.token)
  }

  private send(res: ServerResponse, status: number, body: unknown, route: string): void {
    this.metrics?.controlRequestsTotal.inc({ route, status: String(status) })
    if (body instanceof RawResponse) {
      res.writeHead(body.status, { 'content-type': body.contentType })
      res.end(body.text)
      return
    }
    const text = `${JSON.stringify(body ?? null)}\n`
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(text)
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const key = `${req.method} ${url.pathname}`
    const handler = this.routes.get(key)
    const route = handler ? url.pathname : 'unknown'
    try {
      if (!this.authorised(req)) {
        this.send(
          res,
          401,
          { error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } },
          route,
        )
        req.resume()
        return
      }
      if (!this.accepting) {
        this.send(res, 503, { error: { code: 'STOPPING', message: 'node is shutting down' } }, route)
        return
      }
      if (!handler) {
        const other = [...this.routes.keys()].some((k) => k.endsWith(` ${url.pathname}`))
        this.send(
          res,
          other ? 405 : 404,
          { error: { code: other ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', message: `no route ${key}` } },
          route,
        )
        req.resume()
        return
      }
      const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req) : undefined
      const ac = new AbortController()
      res.on('close', () => {
        if (!res.writableFinished) ac.abort()
      })
      const signal = AbortSignal.any([ac.signal, this.stopController.signal])
      const result = await handler({
        method: req.method as HttpMethod,
        path: url.pathname,
        query: url.searchParams,
        body,
        signal,
      })
      this.send(res, 200, result, route)
    } catch (err) {
      if (isSwarmdError(err)) {
        this.send(
          res,
          STATUS_BY_CODE[err.code] ?? 400,
          { error: { code: err.code, message: err.message } },
          route,
        )
      } else {
        this.log.error('control handler failed', { route: key, error: err })
        this.send(res, 500, { error: { code: 'INTERNAL', message: errorMessage(err) } }, route)
      }
    }
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES)
      throw new SwarmdError('BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new SwarmdError('BAD_JSON', 'request body is not valid JSON')
  }
}
