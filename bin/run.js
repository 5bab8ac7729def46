#!/usr/bin/env node
import { execute, settings } from '@oclif/core'

// The built CLI runs dist/ only. Without this, NODE_ENV=development or test makes oclif look for the
// TypeScript sources on Node 22 and later, and warn on stderr when it finds none.
settings.enableAutoTranspile = false

await execute({ dir: import.meta.url })
