// Test fixtures for the accounts tests: a store with one case of one small image.
import { CaseStore } from '../store/index';
import { testImageRecord, type TestImageOptions } from '../../testing/records';

export function imageRecord(i: number, rows = 64, columns = 64, o: TestImageOptions = {}) {
  return testImageRecord(i, { rows, columns, tag: 'acct', ...o });
}

import { tempDbPath } from '../../testing/index';


export function storeWithCase(): { store: CaseStore; caseId: number; imageId: number } {
  const store = CaseStore.open(tempDbPath());
  const { caseId, imageId } = store.insertImage(imageRecord(1));
  return { store, caseId, imageId };
}
