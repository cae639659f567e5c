// Applies pending migrations in one transaction and refuses a database written by a newer version of the app.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { migrations as defaultMigrations, type Migration } from './migrations/index';

export function latestVersion(migrations: Migration[] = defaultMigrations): number {
  return migrations.length ? migrations[migrations.length - 1].version : 0;
}

export function runMigrations(db: Database, migrations: Migration[] = defaultMigrations): { from: number; to: number } {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version <= migrations[i - 1].version) {
      throw new Error(`migration versions must grow: ${migrations[i - 1].version} then ${migrations[i].version}`);
    }
  }
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = latestVersion(migrations);
  refuseNewer(from, migrations);
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return { from, to: from };
  // A migration that rebuilds a table other tables refer to runs with the foreign keys off (SQLite's own procedure
  // for changing a table's constraints: they cannot be turned off inside a transaction), and every reference is
  // checked before the transaction commits: a broken one rolls the whole upgrade back.
  const rebuilds = pending.some((m) => m.rebuildsTables);
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  if (rebuilds && foreignKeys) db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (const m of pending) m.migrate(db);
      if (rebuilds) {
        const broken = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
        if (broken.length) throw new Error(`the schema upgrade would leave ${broken.length} broken reference(s), e.g. ${broken[0].table} row ${broken[0].rowid} to ${broken[0].parent}`);
      }
      db.pragma(`user_version = ${latest}`);
    }).immediate();
  } finally {
    if (rebuilds && foreignKeys) db.pragma('foreign_keys = ON');
  }
  return { from, to: latest };
}

/** Refuse a database whose schema is newer than this app's, before anything touches it. */
export function refuseNewer(version: number, migrations: Migration[] = defaultMigrations): void {
  const latest = latestVersion(migrations);
  if (version > latest) {
    throw new AppError(
      'DB_NEWER_THAN_APP',
      `This database was written by a newer version of CXR Workstation (schema ${version}; this app knows up to ${latest}). ` +
        'Install the newer version to open it; the database was not changed.',
    );
  }
}
