// The model card as a reader at the station sees it: the card's opening, what the model is for, the data it was
// trained on (by name and origin), its measured performance, what to expect at a clinic it has never seen, and its
// known limits. The rest of a pack's card (how each
// training run went, the exact preprocessing, the parity check) is for the engineers who build and check packs; it
// stays in the pack and is not shown to a clinician.

/** The card's level-2 sections a reader is shown, by how their heading starts. */
export const READER_SECTIONS: readonly string[] = ['Intended use', 'Data', 'Metrics', 'Transfer', 'Known limits'];

export const ENGINEERS_NOTE =
  '*The model pack’s full card also describes the training runs, the exact preprocessing and the parity check, for the engineers who build and verify packs.*';

/** The reader's part of a card (Markdown): the text before the first section, and the READER_SECTIONS in their order. */
export function cardForReaders(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let keep = true;
  let dropped = false;
  for (const line of lines) {
    const h2 = /^##\s+(.*)$/.exec(line);
    if (h2) {
      keep = READER_SECTIONS.some((s) => h2[1].startsWith(s));
      if (!keep) dropped = true;
    }
    if (keep) out.push(line);
  }
  const text = out.join('\n').trimEnd();
  return dropped ? `${text}\n\n${ENGINEERS_NOTE}\n` : `${text}\n`;
}
