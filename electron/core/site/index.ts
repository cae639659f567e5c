// Site calibration and adaptation: the station learns its own clinic's operating point. Reference results per case
// (./results, ./rules), the calibration of the threshold on this station's confirmed cases (./calibration, ./stats),
// the site head fitted over the pack's embedding (./head, ./logistic), the one threshold in force for every use
// (./threshold, ./scoring), the re-scoring that follows a change (./rescore), drift (./drift), and the same fits on
// a data set's manifest (./manifest). Errors: RESULTS_IMPORT_INVALID, SITE_TOO_FEW_CASES, SITE_HEAD_NOT_ELIGIBLE,
// SITE_OTHER_MODEL.
export { thresholdInForce, flagWorklistRow, sameModel, packLabel, type PackKey, type SitePack, type ThresholdInForce } from './threshold';
export { readingInForce, loadHead, headScore, logitToScore, embeddingFromBlob, type ReadingInForce, type SiteHead } from './scoring';
export { caseTruth, readResult, parseTest, parseResult, parseDate, TESTS, RESULTS, TEST_NAMES, RESULT_NAMES, type ReferenceTest, type CaseTruth } from './rules';
export { addResult, withdrawResult, caseResults, allCaseTruths, parseCsv, previewResultsCsv, importResultsCsv, type ReferenceResult, type ImportPreview, type ImportOutcome, type ResultActor } from './results';
export {
  calibrationReport, calibrationHistory, latestCalibrationVersion, setSiteThreshold, rollbackToPackDefault, siteCases, scorerScores, stationScores, chooseThreshold, WARN_BELOW_PER_CLASS, WHO_TRIAGE,
  type CalibrationReport, type CalibrationVersion, type ThresholdChoice, type SiteCase,
} from './calibration';
export { fitSiteHead, activateHead, listHeads, getHead, evaluateHead, headVerdict, HEAD_MIN_CASES, HEAD_MIN_PER_CLASS, type HeadSummary, type HeadEvaluation } from './head';
export { driftReport, ksTest, proportionZ, type DriftReport } from './drift';
export { Rescorer, rescoreCase, type RescoreProgress } from './rescore';
export { SiteService, type SiteEvents } from './service';
export { aucWithInterval, aucDifference, rocCurve, thresholdRow, thresholdForSensitivity, seededRandom, type Interval, type RocPoint, type ThresholdRow } from './stats';
export { fitLogistic, crossValidate, stratifiedFolds, predictLogit, matrix, LAMBDA_GRID, type LogisticModel } from './logistic';
export { readManifestCases, calibrateOnCases, fitOnCases, simulateSites, planSplit, type ManifestCase, type Simulation } from './manifest';
