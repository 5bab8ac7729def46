#!/usr/bin/env node
import { createRequire } from 'node:module'
import { setTimeout } from 'node:timers'

// DEBUG turns on crypto-etl's --verbose, whose lines are masked. The debug lines of oclif (and any library
// using the debug package) are not: oclif's printed every argument, --api-key and --database-url included.
// So that package is loaded, as oclif resolves it, while DEBUG is unset (it reads it once, when loaded).
const debug = process.env.DEBUG
delete process.env.DEBUG
const require = createRequire(import.meta.url)
createRequire(require.resolve('@oclif/core'))('debug')
if (debug !== undefined) process.env.DEBUG = debug

const { execute, settings } = await import('@oclif/core')

// The built CLI runs dist/ only. Without this, NODE_ENV=development or test makes oclif look for the
// TypeScript sources on Node 22 and later, and warn on stderr when it finds none.
settings.enableAutoTranspile = false

await execute({ dir: import.meta.url })

// A command that has finished ends, with the exit code it set, even if something still holds Node's event
// loop: a connection the server killed mid-command once kept a finished cron run alive until cron's next tick.
setTimeout(() => process.exit(), 3000).unref()
