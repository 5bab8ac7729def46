import { describe, expect, it } from 'vitest'
import { scanReadOnlySql } from '../../src/warehouse/reading/read-only-sql.js'

describe('scanReadOnlySql', () => {
  it('accepts one SELECT, WITH, VALUES or TABLE, however it is cased, parenthesised or commented', () => {
    for (const text of [
      'SELECT 1',
      ' with a as (select 1) select * from a',
      'values (1)',
      'Table assets',
      '((select 1));',
    ]) {
      expect(scanReadOnlySql(text)).not.toHaveProperty('problem')
    }
    expect(scanReadOnlySql('-- note\n/* a /* nested */ comment */ select 1')).toEqual({ functions: [] })
  })

  it('lists the functions called, quoted names as written, schemas left out', () => {
    expect(scanReadOnlySql('select Lower(x), pg_catalog."Set_Config" (a), count(*) from t')).toEqual({
      functions: ['lower', 'Set_Config', 'count'],
    })
  })

  it('does not mistake strings, dollar quotes and comments for statements or calls', () => {
    const text = "select E'\\'; lo_export(' as a, $q$; drop table t $q$, 'it''s; x(', $$nextval($$ /* ; */"
    expect(scanReadOnlySql(text)).toEqual({ functions: [] })
  })

  it('refuses a second statement, another kind of statement, nothing at all and an unclosed string', () => {
    expect(scanReadOnlySql('select 1; select 2')).toEqual({
      problem: 'it takes one statement, and this has more (a ; between statements)',
    })
    expect(scanReadOnlySql('copy t to stdout')).toEqual({
      problem: 'it takes a SELECT, WITH, VALUES or TABLE query, not COPY',
    })
    expect(scanReadOnlySql('"select" 1')).toMatchObject({ problem: expect.stringContaining('not SELECT') })
    expect(scanReadOnlySql(' ; ')).toEqual({ problem: 'the statement is empty' })
    expect(scanReadOnlySql("select 'x")).toEqual({ problem: 'the statement has an unclosed string' })
    expect(scanReadOnlySql('select 1 /* x')).toEqual({ problem: 'the statement has an unclosed comment' })
  })

  it('refuses a call whose name is hidden behind U& escapes', () => {
    expect(scanReadOnlySql('select U&"lo\\005fexport"(1, 2)')).toEqual({
      problem: 'a function named with U& escapes cannot be checked',
    })
  })
})
