/**
 * The libp2p host: TCP + Noise + Yamux, identify, ping, a Kademlia DHT in
 * server mode on swarmd's own protocol (`/swarmd/kad/1.0.0`), gossipsub,
 * bootstrap and mDNS discovery, Prometheus metrics. Configured for loopback
 * devnets too (see docs/node.md and the three defaults that break them:
 * connection-rate allow list, DHT server mode + passthrough mapper, gossipsub
 * IP colocation whitelist).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper, type SelectFn, type ValidateFn } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import type { Datastore } from 'interface-datastore'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { Registry } from 'prom-client'
import type { NodeConfig } from './config.ts'

export const DHT_PROTOCOL = '/swarmd/kad/1.0.0'

type Gossipsub = ReturnType<ReturnType<typeof gossipsub>>

export interface HostServices {
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  dht: KadDHT
  pubsub: Gossipsub
  [key: string]: unknown
}

export type Host = Libp2p<HostServices>

export interface HostInit {
  config: NodeConfig
  privateKey: PrivateKey
  datastore: Datastore
  registry: Registry
  /** Collect process metrics (CPU, memory, GC) into the registry. @default true */
  processMetrics?: boolean
  /** DHT record validators and selectors by key prefix (`swarmd-card`). */
  validators?: Record<string, ValidateFn>
  selectors?: Record<string, SelectFn>
  /** Refuse these peers (dials and inbound connections). */
  denyPeer?: (peerId: string) => boolean
}

/** Create (not start: `start()` maps listen errors to one line) the libp2p host. */
export async function createHost(init: HostInit): Promise<Host> {
  const { config } = init
  const deny = (peerId: { toString(): string }): boolean => init.denyPeer?.(peerId.toString()) ?? false
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  // Loaded only when used: a devnet node (mDNS off) saves their memory.
  if (config.bootstrap.length > 0) {
    const { bootstrap } = await import('@libp2p/bootstrap')
    peerDiscovery.push(bootstrap({ list: config.bootstrap, timeout: 10 }))
  }
  if (config.mdns) {
    const { mdns } = await import('@libp2p/mdns')
    peerDiscovery.push(mdns())
  }
  return createLibp2p({
    start: false,
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: {
      listen: config.listen,
      ...(config.announce.length > 0 ? { announce: config.announce } : {}),
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: config.connections.maxConnections,
      allow: config.connections.allow,
    },
    // A failed ping under load (e.g. "too many outbound protocol streams" for ping on a busy node)
    // says nothing about the peer: do not abort a healthy connection and every stream on it.
    // A dead peer is still noticed by its socket closing and by yamux.
    connectionMonitor: { abortConnectionOnPingFailure: false },
    connectionGater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
    },
    peerDiscovery,
    metrics: prometheusMetrics({
      registry: init.registry,
      collectDefaultMetrics: init.processMetrics ?? true,
    }),
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        kBucketSize: config.dht.kBucketSize,
        initialQuerySelfInterval: 0,
        validators: init.validators ?? {},
        selectors: init.selectors ?? {},
        providers: { provideValidity: Math.floor(config.dht.providerValidityMs / 1000) },
        reprovide: {
          validity: config.dht.providerValidityMs,
          threshold: config.dht.providerValidityMs - config.dht.reprovideIntervalMs,
          interval: Math.min(config.dht.reprovideIntervalMs, 3600_000),
        },
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        scoreParams: { IPColocationFactorWhitelist: new Set(config.gossipsub.ipColocationWhitelist) },
      }),
    },
  })
}
