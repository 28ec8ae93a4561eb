#!/usr/bin/env node
// Entry point of the `swarmd` command. In a source checkout it runs the
// TypeScript sources directly (Node >= 22.18 strips types natively); in a
// published package, which ships only dist/, it runs the compiled CLI.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(
    `swarmd: needs Node >= 22 (this is ${process.version}). The project pins Node 24 as a dev dependency: ` +
      'run it as `npx swarmd ...` or `npm run swarmd -- ...` inside the checkout.\n',
  )
  process.exit(2)
}

const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
// Importing the CLI entry is cheap: command modules (and libp2p) load only when a command runs.
const { main, commandName } = await import(existsSync(source) ? source : built)
const args = process.argv.slice(2)
if (commandName(args) === 'start') {
  // A daemon idles for hours: trade a little allocation speed for memory
  // (a 1 MB young generation and V8's size-optimised mode; ~165 -> ~120 MB RSS).
  const v8 = await import('node:v8')
  v8.setFlagsFromString('--max-semi-space-size=1')
  v8.setFlagsFromString('--optimize-for-size')
}
await main(args)
