/** Plain tables for the terminal (cli-table3), the only place that knows how tables are drawn. */
import Table from 'cli-table3'

export interface Column<Row> {
  header: string
  value: (row: Row) => string
  align?: 'left' | 'right'
}

/** Renders rows as a boxed table; numbers should arrive already formatted. */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const table = new Table({
    head: columns.map((c) => c.header),
    colAligns: columns.map((c) => c.align ?? 'left'),
    // compact: a rule under the header only, so tables stay as tall as their data.
    style: { head: process.stdout.isTTY ? ['cyan'] : [], border: process.stdout.isTTY ? ['grey'] : [], compact: true },
  })
  for (const row of rows) table.push(columns.map((c) => c.value(row)))
  return table.toString()
}
