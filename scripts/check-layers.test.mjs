import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFile, importsOf } from './check-layers.mjs';

test('finds static, dynamic, side-effect and require imports', () => {
  assert.deepEqual(importsOf(`import a from 'x';\nimport { b } from "../y";\nexport * from './z';\nconst c = await import('w');\nimport 'side';\nrequire('r');`), ['x', '../y', './z', 'w', 'side', 'r']);
});

test('core may not import electron nor the glue', () => {
  assert.equal(checkFile('electron/core/store/index.ts', `import { app } from 'electron';`).length, 1);
  assert.equal(checkFile('electron/core/store/index.ts', `import x from '../../main/index';`).length, 1);
  assert.equal(checkFile('electron/core/store/index.ts', `import Database from 'better-sqlite3';\nimport { z } from '../../contract/index';`).length, 0);
});

test('the renderer imports only the contract and browser packages', () => {
  assert.equal(checkFile('renderer/src/api/client.ts', `import { contract } from '../../../electron/contract/index';`).length, 0);
  assert.equal(checkFile('renderer/src/api/client.ts', `import { CaseStore } from '../../../electron/core/store/index';`).length, 1);
  assert.equal(checkFile('renderer/src/viewer/x.ts', `import fs from 'node:fs';`).length, 1);
  assert.equal(checkFile('renderer/src/viewer/x.ts', `import { ipcRenderer } from 'electron';`).length, 1);
});

test('the contract imports only zod', () => {
  assert.equal(checkFile('electron/contract/index.ts', `import { z } from 'zod';\nimport { x } from './wire';`).length, 0);
  assert.equal(checkFile('electron/contract/index.ts', `import { AppError } from '../core/errors';`).length, 1);
});
