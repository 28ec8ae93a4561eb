/** The swarmd version, from package.json. */
import pkg from '../../package.json' with { type: 'json' }

export const SWARMD_VERSION: string = pkg.version
