// A node:test reporter that writes one JSON line per skipped test ({ stage, name, file, reason }) for the closing
// summary of `npm test` (scripts/test.mjs). It runs beside the spec reporter, which prints as before.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' || !event.data.skip) continue;
    const { name, file, skip } = event.data;
    yield `${JSON.stringify({ stage: 'unit', name, file: file ?? null, reason: typeof skip === 'string' ? skip : 'skipped' })}\n`;
  }
}
