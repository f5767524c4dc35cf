import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DuckDBInstance } from '@duckdb/node-api'
import { bindParameters, placeholdersOf, sqlString } from './sql-params.js'

const count = (sql: string) => placeholdersOf(sql).length

describe('lake/sql-params', () => {
  it('finds bare ? and whole quoted ? placeholders, in order', () => {
    assert.equal(count('SELECT * FROM t WHERE a = ? AND b > ?'), 2)
    assert.equal(count("SELECT date_trunc('?', eventTime) FROM t WHERE eventTime > '?'"), 2)
    assert.deepEqual(placeholdersOf("a = ? AND b = '?'"), [
      { start: 4, end: 5 },
      { start: 14, end: 17 },
    ])
  })

  it('ignores ? inside literals, identifiers, comments and dollar-quoted strings', () => {
    assert.equal(count("SELECT 'what?' , '??', '? ', ''''"), 0)
    assert.equal(count('SELECT "a?" FROM t'), 0)
    assert.equal(count('SELECT 1 -- why?\n'), 0)
    assert.equal(count('SELECT /* a /* ? */ ? */ 1'), 0)
    assert.equal(count('SELECT $$ ? $$, $tag$ ? $tag$'), 0)
    assert.equal(count("SELECT E'it\\'s ?'"), 0)
    // A standard string has no backslash escapes: 'a\' ends there, and the ? after it is code.
    assert.equal(count("SELECT 'a\\' , ?"), 1)
    // x'?', n'?' and U&'?' are other literal forms, not placeholders.
    assert.equal(count("SELECT x'?', n'?', U&'?'"), 0)
    // Unterminated strings run to the end.
    assert.equal(count("SELECT '? "), 0)
  })

  it('binds values as escaped string literals', () => {
    assert.equal(sqlString("x' OR '1'='1"), "'x'' OR ''1''=''1'")
    assert.equal(
      bindParameters("SELECT 1 WHERE a = ? AND b > '?'", ["x' OR '1'='1", '2024-01-01']),
      "SELECT 1 WHERE a = 'x'' OR ''1''=''1' AND b > '2024-01-01'",
    )
  })

  it('refuses a count mismatch and NUL characters with InvalidQueryStatementException', () => {
    assert.throws(() => bindParameters('SELECT ?', []), {
      code: 'InvalidQueryStatementException',
      message: /1 \? placeholder but 0 query parameters/,
    })
    assert.throws(() => bindParameters("SELECT 'a?'", ['x']), {
      code: 'InvalidQueryStatementException',
    })
    assert.throws(() => bindParameters('SELECT ?', ['a\0b']), {
      code: 'InvalidQueryStatementException',
    })
    assert.equal(bindParameters('SELECT 1', []), 'SELECT 1')
  })

  it('keeps hostile values literal in DuckDB itself', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const c = await db.connect()
    try {
      const hostile = [
        "x' OR '1'='1",
        "'; DROP TABLE t; --",
        "\\'; SELECT 1; --",
        "$$ || 'x' || $$",
        '*/ OR 1=1 /*',
        "E'\\''",
        '"; --\n OR 1=1',
        '?',
      ]
      for (const v of hostile) {
        const sql = bindParameters("SELECT ? AS a, '?' AS b, E'\\'?' AS c, $$?$$ AS d", [v, v])
        const rows = (await c.runAndReadAll(sql)).getRows()
        assert.deepEqual(rows, [[v, v, "'?", '?']], v)
      }
    } finally {
      c.closeSync()
      db.closeSync()
    }
  })
})
