import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('the generated docs', () => {
  it('docs/commands.md is what the built commands say (npm run docs writes it)', () => {
    const check = spawnSync(process.execPath, ['scripts/docs.js', '--check'], { cwd: ROOT, encoding: 'utf8' })
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
