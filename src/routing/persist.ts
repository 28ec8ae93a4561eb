/**
 * Routing tables survive restarts: `saveRouter` writes the router's snapshot
 * as JSON under one key of the routing sublevel, `loadRouter` restores it.
 */
import { getJson, type KvStore, putJson } from '../common/index.ts'
import type { Router, RouterSnapshot } from './types.ts'

export const ROUTER_KEY = 'table/v1'

export async function saveRouter(kv: KvStore, router: Router, key = ROUTER_KEY): Promise<void> {
  await putJson(kv, key, router.snapshot())
}

/** Restore a saved table; returns false when nothing was saved (or it belongs to another router kind). */
export async function loadRouter(kv: KvStore, router: Router, key = ROUTER_KEY): Promise<boolean> {
  const snap = await getJson<RouterSnapshot>(kv, key)
  if (!snap || snap.kind !== router.kind) return false
  router.restore(snap)
  return true
}
