/**
 * One small error base class with a machine-readable `code`. Errors that come
 * from the network also say how the receiver should react, so peer scoring can
 * act on them without string matching.
 */

/** How to treat the peer that caused a network error. */
export type PeerAction = 'ignore' | 'reject' | 'penalise'

export class SwarmdError<Code extends string = string, Payload = unknown> extends Error {
  readonly code: Code
  readonly payload: Payload | undefined
  readonly action: PeerAction | undefined

  constructor(
    code: Code,
    message: string,
    opts: { payload?: Payload; action?: PeerAction; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'SwarmdError'
    this.code = code
    this.payload = opts.payload
    this.action = opts.action
  }
}

/** A user mistake (bad flag, bad config, bad file): the CLI prints one line and exits non-zero. */
export class UserError extends SwarmdError<'USER_ERROR'> {
  constructor(message: string) {
    super('USER_ERROR', message)
    this.name = 'UserError'
  }
}

export function isSwarmdError(err: unknown): err is SwarmdError {
  return err instanceof SwarmdError
}

/** The message of anything thrown, for logs and one-line CLI errors. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
