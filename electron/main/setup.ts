// First run, before the case store opens: where the station keeps its data. The desktop app asks once (the
// default user-data folder, or a folder the clinic's IT person picks, e.g. on a data disk), checks that the folder
// is writable, and remembers the choice in station.json (core/paths.ts) so that the CLI finds the same store.
// Electron's dialogs are passed in, so that setup.test.ts drives every branch with scripted answers.
import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE_NAME } from '../core/store/index';
import { dataDirProblem, readStationConfig, writeStationConfig, type DbLocation } from '../core/paths';

export interface SetupDialogs {
  /** First run: keep the default folder, pick another, or quit. */
  askDataFolder(defaultDir: string): Promise<'default' | 'choose' | 'quit'>;
  /** A folder picker; null when cancelled. */
  pickFolder(startDir: string): Promise<string | null>;
  /** A problem the user must see; 'retry' picks again, 'quit' ends. */
  problem(message: string): Promise<'retry' | 'quit'>;
}

export interface SetupInput {
  env: Record<string, string | undefined>;
  /** Electron's userData folder: the default data folder and the home of station.json */
  userDataDir: string;
  /** the application's install folder (a data folder must not be inside it) */
  installDir?: string;
  dialogs: SetupDialogs;
  now?: () => Date;
}

/** Where to open the case store, or null when the user quit. Throws CONFIG_UNREADABLE for a damaged station.json. */
export async function chooseDataLocation(input: SetupInput): Promise<DbLocation | null> {
  const { env, userDataDir, installDir, dialogs } = input;
  if (env.CXR_DB) return { dbPath: path.resolve(env.CXR_DB), source: 'env' };
  const saved = readStationConfig(userDataDir);
  if (saved) {
    // A chosen folder that has gone (an unplugged or unmounted data disk) is never silently replaced by an empty
    // store somewhere else: the user decides.
    const problem = fs.existsSync(saved.dataDir) ? dataDirProblem(saved.dataDir, installDir) : `The data folder ${saved.dataDir} chosen for this station is not available (a disconnected or unmounted drive?).`;
    if (!problem) return { dbPath: path.join(saved.dataDir, DB_FILE_NAME), source: 'chosen' };
    if ((await dialogs.problem(`${problem}\n\nReconnect it and start again, or choose another folder (an empty one starts an empty case store; restore a backup into it to keep your cases).`)) === 'quit') return null;
    return pickUntilUsable(input);
  }
  const answer = await dialogs.askDataFolder(userDataDir);
  if (answer === 'quit') return null;
  if (answer === 'default') {
    const problem = dataDirProblem(userDataDir, installDir);
    if (!problem) return remember(input, userDataDir);
    if ((await dialogs.problem(problem)) === 'quit') return null;
  }
  return pickUntilUsable(input);
}

async function pickUntilUsable(input: SetupInput): Promise<DbLocation | null> {
  for (;;) {
    const dir = await input.dialogs.pickFolder(input.userDataDir);
    if (dir === null) {
      if ((await input.dialogs.problem('No folder was chosen: the station needs a data folder for its case store.')) === 'quit') return null;
      continue;
    }
    const problem = dataDirProblem(path.resolve(dir), input.installDir);
    if (!problem) return remember(input, path.resolve(dir));
    if ((await input.dialogs.problem(problem)) === 'quit') return null;
  }
}

function remember(input: SetupInput, dataDir: string): DbLocation {
  writeStationConfig(input.userDataDir, { dataDir, chosenAt: (input.now ?? (() => new Date()))().toISOString() });
  return { dbPath: path.join(dataDir, DB_FILE_NAME), source: 'chosen' };
}
