/** One versioned catalog migration (the list is ../migrations.ts). */
export interface Migration {
  version: number
  name: string
  sql: string
  /**
   * It rebuilds a table that others refer to (SQLite's documented 12-step
   * procedure for a change ALTER TABLE cannot make): it runs with foreign
   * keys off, and PRAGMA foreign_key_check must find nothing before commit.
   */
  rebuildsTables?: boolean
}
