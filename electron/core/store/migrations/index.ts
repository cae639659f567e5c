// The ordered list of schema migrations. Versions only grow; each runs once, inside the runner's transaction.
import type { Database } from 'better-sqlite3';
import * as m0010 from './0010-initial';
import * as m0020 from './0020-analyses';
import * as m0030 from './0030-annotations';

export interface Migration {
  version: number;
  migrate(db: Database): void;
}

export const migrations: Migration[] = [m0010, m0020, m0030];
