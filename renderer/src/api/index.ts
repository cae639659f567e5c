export { getApi, setApi, call, onEvent, ApiError, errorCode, errorMessage, takeToken } from './client';
export type {
  AnalysisProgress,
  AnalysisView,
  Api,
  CallName,
  CallRequest,
  CallResponse,
  CaseDetail,
  CaseStatus,
  ImageInfo,
  ImportOutcome,
  OperatingThreshold,
  WindowPreset,
  WorklistQuery,
  WorklistRow,
  WorklistSortKey,
} from '../../../electron/contract/index';
export { MAX_IMPORT_BYTES } from '../../../electron/contract/index';
