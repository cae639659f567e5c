// Reporting: the draft report written from the current findings, its text versions, questions about the image, and
// the text metrics that measure drafts against clinical readings. Sign-off and the exports read a case's report
// through loadReport.
export { loadReport, saveReportText, redraftReport, listReportVersions, caseFacts, imageFacts, reportForSignature, REPORT_TEXT_MAX, type CaseReport, type ReportAuthor, type ReportVersionInfo, type SaveReportInput } from './store';
export { draftReport, draftSections, sectionsToText, parseSections, SECTION_ORDER, SECTION_TITLES, type Draft, type ReportSections } from './draft';
export { factsFingerprint, lesionKind, isTbPositive, type ReportFacts, type ImageFacts, type ReportFinding, type AiReading, type LesionKind } from './facts';
export { answerQuestion, parseQuestion, type Answer, type AnswerType, type Evidence, type Intent } from './vqa';
export { assignZone, lungFieldFromPolygons, lungFieldFromPackedMasks, type Side, type Zone, type ZoneAssignment, type LungField } from './zones';
export { bleu, rougeL, tokenizeForMetrics } from './textMetrics';
export { factsFromReading, type ModelReading, type ReadingMeta } from './reading';
