import type Database from 'better-sqlite3';
import type { Db } from './open.ts';

const byDb = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The prepared statement for `sql` on `db`, compiled once per connection. better-sqlite3 keeps no
 * statement cache of its own, and the upload path runs the same few queries for every batch (the
 * record-JSON select alone is a long statement to compile).
 */
export function prepared(db: Db, sql: string): Database.Statement {
  let statements = byDb.get(db);
  if (!statements) {
    statements = new Map();
    byDb.set(db, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}
