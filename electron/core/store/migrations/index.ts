// The ordered list of schema migrations. Versions only grow; each runs once, inside the runner's transaction.
import type { Database } from 'better-sqlite3';
import * as m0010 from './0010-initial';
import * as m0020 from './0020-analyses';
import * as m0030 from './0030-annotations';
import * as m0050 from './0050-accounts';
import * as m0060 from './0060-reports';
import * as m0080 from './0080-network';
import * as m0090 from './0090-pixels-in-original';
import * as m0100 from './0100-follow-up-cases';
import * as m0110 from './0110-site-calibration';
import * as m0120 from './0120-case-score-model';

export interface Migration {
  version: number;
  migrate(db: Database): void;
  /** rebuilds a table that others refer to: run with the foreign keys off, all checked before commit */
  rebuildsTables?: boolean;
}

export const migrations: Migration[] = [m0010, m0020, m0030, m0050, m0060, m0080, m0090, m0100, m0110, m0120];
