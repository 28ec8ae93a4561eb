import { describe, expect, it } from 'vitest'
import {
  applyOverrides,
  configKeys,
  DEFAULT_CONFIG,
  parseConfig,
  parseConfigText,
} from '../../../src/node/config.ts'

describe('node config', () => {
  it('fills every missing key with its default', () => {
    expect(parseConfig({})).toEqual(DEFAULT_CONFIG)
    const cfg = parseConfig({ api: { port: 0 }, mdns: false })
    expect(cfg.api.port).toBe(0)
    expect(cfg.mdns).toBe(false)
    expect(cfg.dht.kBucketSize).toBe(DEFAULT_CONFIG.dht.kBucketSize)
  })

  it('refuses an unknown key, naming it and suggesting the right one', () => {
    expect(() => parseConfig({ listn: [] })).toThrow('config: unknown key "listn" (did you mean "listen"?)')
    expect(() => parseConfig({ api: { prot: 1 } })).toThrow('unknown key "api.prot" (did you mean "port"?)')
    expect(() => parseConfig({ zzzzzzzz: 1 })).toThrow(/unknown key "zzzzzzzz"$/)
  })

  it('refuses an invalid value, naming the key and the expected value', () => {
    expect(() => parseConfig({ api: { port: 'abc' } })).toThrow(
      'config: "api.port" must be an integer 0..65535, got "abc"',
    )
    expect(() => parseConfig({ api: { port: 70000 } })).toThrow(
      '"api.port" must be an integer 0..65535, got 70000',
    )
    expect(() => parseConfig({ mdns: 'yes' })).toThrow('"mdns" must be true or false')
    expect(() => parseConfig({ listen: ['tcp/1'] })).toThrow('"listen" must be a list of multiaddrs')
    expect(() => parseConfig({ listen: ['/ip4/999.1.1.1/tcp/1'] })).toThrow(
      '"listen" must be a list of multiaddrs',
    )
    expect(() => parseConfig({ bootstrap: ['/ip4/127.0.0.1/tcp/1'] })).toThrow(
      '"bootstrap" must be a list of multiaddrs ending in /p2p/<peer id>',
    )
    expect(
      parseConfig({
        bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWJTHLFUi73ZQYvSav8EDWX6XsA39aWgCrFjJgSncbZsiM'],
      }).bootstrap,
    ).toHaveLength(1)
    expect(() => parseConfig({ log: { level: 'loud' } })).toThrow('"log.level" must be one of trace, debug')
    expect(() => parseConfig({ dht: 3 })).toThrow('"dht" must be an object, got 3')
    expect(() => parseConfig({ dht: { reprovideIntervalMs: 100 * 24 * 3600_000 } })).toThrow(
      /"dht.reprovideIntervalMs" must be/,
    )
  })

  it('reports malformed JSON as a user error', () => {
    expect(() => parseConfigText('{ nope', 'x/config.json')).toThrow(
      'config: x/config.json is not valid JSON',
    )
  })

  it('applies dotted-path overrides through the same validator', () => {
    const cfg = applyOverrides(DEFAULT_CONFIG, { 'api.port': 7000, 'dht.kBucketSize': 4, mdns: false })
    expect(cfg.api.port).toBe(7000)
    expect(cfg.dht.kBucketSize).toBe(4)
    expect(() => applyOverrides(DEFAULT_CONFIG, { 'dht.kBucketSize': 1 })).toThrow(
      '"dht.kBucketSize" must be',
    )
  })

  it('documents every key', () => {
    expect(configKeys()).toContain('wire.maxMessageBytes')
    expect(configKeys()).toContain('peerScore.disconnectThreshold')
  })
})
