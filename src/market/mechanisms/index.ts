/** Clearing mechanisms by name. */
import { MarketError, MarketErrorCode } from '../errors.ts'
import { firstPrice, postedPrice, secondPrice } from './baselines.ts'
import { MECHANISM_NAMES, type Mechanism, type MechanismName } from './types.ts'
import { vcg } from './vcg.ts'

export type { Allocation } from './allocate.ts'
export { allocate, allocateDp, allocateSingleUnit, allSingleUnit, MAX_DP_CELLS } from './allocate.ts'
export { firstPrice, postedPrice, secondPrice } from './baselines.ts'
export * from './types.ts'
export { validateClearInput } from './validate.ts'
export { vcg } from './vcg.ts'

export const mechanisms: Readonly<Record<MechanismName, Mechanism>> = Object.freeze({
  vcg,
  'first-price': firstPrice,
  'second-price': secondPrice,
  'posted-price': postedPrice,
})

export function getMechanism(name: string): Mechanism {
  if (!(MECHANISM_NAMES as readonly string[]).includes(name)) {
    throw new MarketError(
      MarketErrorCode.UNKNOWN_MECHANISM,
      `unknown mechanism '${name}' (one of ${MECHANISM_NAMES.join(', ')})`,
    )
  }
  return mechanisms[name as MechanismName]
}
