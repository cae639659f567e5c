// The triage verdict: an image or a case is flagged when its TB score in force is at or above the operating threshold
// in force. The threshold itself is decided in one place, site/threshold.ts (the latest site calibration for the pack
// in use, else the pack's own default); this is the one comparison that every "flagged", "at or above the threshold"
// and "TB suspected" uses (the worklist row, the reading in force behind the AI panel, the report draft, the answers
// to questions, the PDF, SR and JSON exports), and the worklist's flagged-only filter makes the same comparison in
// SQL, so that the station never flags a case on one screen and not on another.

/** A TB score at or above the threshold in force is flagged; nothing is flagged where no threshold is known. */
export function isFlagged(tbScore: number, threshold: number | null): boolean {
  return threshold !== null && Number.isFinite(tbScore) && tbScore >= threshold;
}
