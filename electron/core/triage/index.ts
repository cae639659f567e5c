// The triage flag: an image is flagged when its AI TB score is at or above the operating threshold in force for the
// model that read it. Every place that says "flagged", "at or above the threshold" or "TB suspected" (the worklist
// and its filter, the AI panel, the report draft, the answers to questions, the PDF, SR and JSON exports) takes the
// threshold from operatingThreshold() and the verdict from isFlagged(), so that the station can never flag a case on
// one screen and not on another.

/** A model as stored with its readings. */
export interface ModelRef {
  name: string;
  version: string;
}

/** One reading's model, with the operating point its model pack declared (recorded with every reading it made). */
export interface ReadingOperatingPoint {
  model: ModelRef;
  /** the pack's `operating_point.tb_score_threshold`, as recorded with the reading; null when none was recorded */
  packThreshold: number | null;
}

/**
 * The TB score threshold in force at this station for readings of `reading.model`: the model pack's own operating
 * point (chosen by the pack's makers on their validation data, see the model card). Null when the model's threshold is
 * not known; nothing is then flagged.
 */
export function operatingThreshold(reading: ReadingOperatingPoint): number | null {
  const t = reading.packThreshold;
  return typeof t === 'number' && Number.isFinite(t) ? t : null;
}

/** The triage verdict: a TB score at or above the threshold in force is flagged. */
export function isFlagged(tbScore: number, threshold: number | null): boolean {
  return threshold !== null && Number.isFinite(tbScore) && tbScore >= threshold;
}

/** The threshold in force for a reading and whether its score is flagged. */
export function triageOf(reading: ReadingOperatingPoint & { tbScore: number }): { threshold: number | null; flagged: boolean } {
  const threshold = operatingThreshold(reading);
  return { threshold, flagged: isFlagged(reading.tbScore, threshold) };
}
