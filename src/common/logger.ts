/**
 * Namespaced, injected logging. Components receive a `Logger` and call
 * `logger.forComponent('swarmd:router')`; nothing outside the CLI writes to the
 * console directly. The daemon's sink writes JSON lines to its log file.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

const LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 }

export interface LogRecord {
  time: number
  level: LogLevel
  component: string
  msg: string
  [key: string]: unknown
}

export type LogSink = (record: LogRecord) => void

export interface Logger {
  readonly component: string
  forComponent(name: string): Logger
  trace(msg: string, fields?: Record<string, unknown>): void
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  enabled(level: LogLevel): boolean
}

export interface LoggerInit {
  /** @default 'info' */
  level?: LogLevel
  /** @default a sink that drops everything */
  sink?: LogSink
  /** @default Date.now */
  now?: () => number
}

export function createLogger(init: LoggerInit = {}, component = 'swarmd'): Logger {
  const min = LEVELS[init.level ?? 'info']
  const sink = init.sink ?? (() => {})
  const now = init.now ?? Date.now
  const log =
    (level: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (LEVELS[level] < min) return
      sink({ ...fields, time: now(), level, component, msg })
    }
  return {
    component,
    forComponent: (name: string) => createLogger(init, name),
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    enabled: (level: LogLevel) => LEVELS[level] >= min,
  }
}

/** A logger that discards everything (tests, offline tools). */
export const silentLogger: Logger = createLogger({ level: 'error', sink: () => {} })

/** A sink writing one JSON object per line to a writable (a file stream, stderr). */
export function jsonLineSink(write: (line: string) => void): LogSink {
  return (record) => {
    try {
      write(`${JSON.stringify(record, jsonSafe)}\n`)
    } catch {
      // A log line must never take the daemon down.
    }
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code }
  return value
}
