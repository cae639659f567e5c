// A node:test reporter that writes one JSON line per skipped test ({ stage, name, file, reason }) for the closing
// summary of `npm test` (scripts/test.mjs). It runs beside the spec reporter, which prints as before. A test marked
// todo (a known failure of the shipped model pack, say) is listed the same way, its reason saying so, whether it
// passed or failed this time.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip, todo } = event.data;
    if (event.type === 'test:pass' && skip) {
      yield `${JSON.stringify({ stage: 'unit', name, file: file ?? null, reason: typeof skip === 'string' ? skip : 'skipped' })}\n`;
    } else if (todo) {
      const why = typeof todo === 'string' ? todo : 'marked todo';
      yield `${JSON.stringify({ stage: 'unit', name, file: file ?? null, reason: `known failure (${event.type === 'test:fail' ? 'failed' : 'passed'} this run): ${why}` })}\n`;
    }
  }
}
