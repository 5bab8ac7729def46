import { describe, expect, it } from 'vitest'
import { secretFlags } from '../../src/config/settings-table.js'
import { maskArgs } from '../../src/core/secrets.js'

describe('maskArgs', () => {
  const secrets = ['sk-live-1234567', 'pa55-word']

  it.each([
    [
      ['--api-key', 'anything'],
      ['--api-key', '***'],
    ],
    [['--api-key=anything'], ['--api-key=***']],
    [
      ['--database-url', 'postgres://etl:pa55-word@db:5432/market'],
      ['--database-url', 'postgres://etl:***@db:5432/market'],
    ],
    [['--database-url=postgres://etl:other@db/market'], ['--database-url=postgres://etl:***@db/market']],
    [['postgres://etl:x-y-z@db/market'], ['postgres://etl:***@db/market']],
    [
      ['--database-url', 'postgres://etl:pw@[db/m'],
      ['--database-url', '<unparseable URL>'],
    ],
    [
      ['--assets', 'sk-live-1234567'],
      ['--assets', '***'],
    ],
    [
      ['--datasets', 'rates', '--limit', '5'],
      ['--datasets', 'rates', '--limit', '5'],
    ],
  ])('%j becomes %j', (args, expected) => {
    expect(maskArgs(args, secrets, { value: secretFlags('value'), url: secretFlags('url') })).toEqual(expected)
  })
})
