// `cxr ask FILE "QUESTION"`: read one image with the model and answer a question about it from the model's findings
// (the boxes it would propose, with their lung zones), as the question box of the viewer does for a stored case.
import { toErrorInfo } from '../core/errors';
import { analyzeDetailed, decodeFile } from '../core/inference/index';
import { answerQuestion, factsFromReading } from '../core/reporting/index';
import { openAnalyzer, parse } from './analyze';
import type { Out } from './out';

const USAGE = 'Usage: cxr ask FILE "QUESTION" --json [--model DIR] [--ep auto|cpu|cuda|dml] [--threads N]';

export async function runAsk(args: string[], out: Out): Promise<number> {
  const p = parse(args, {}, out, USAGE);
  if (!p) return 2;
  if (p.values.help) {
    out.log(USAGE);
    return 0;
  }
  const [file, ...words] = p.positionals;
  const question = words.join(' ').trim();
  if (!file || !question) {
    out.err(`cxr ask: ${!file ? 'no image file given' : 'no question given'}\n${USAGE}`);
    return 2;
  }
  if (question.length > 500) {
    out.err('cxr ask: the question is longer than 500 characters');
    return 2;
  }
  const analyzer = await openAnalyzer(p.values, out);
  if (!analyzer) return 2;
  try {
    const { decoded, ms } = await decodeFile(file);
    const { result } = await analyzeDetailed(analyzer, decoded, ms);
    const facts = factsFromReading(result, { modality: decoded.dicom?.modality ?? null, view: decoded.dicom?.viewPosition ?? null, sourceFormat: decoded.format });
    const a = answerQuestion(facts, question);
    if (p.values.json) out.log(JSON.stringify({ file, question, answer: a.answer, type: a.type, evidence: a.evidence, intent: a.intent, model: result.model }));
    else out.log(a.answer);
    return 0;
  } catch (e) {
    const error = toErrorInfo(e);
    if (p.values.json) out.log(JSON.stringify({ file, question, error }));
    else out.err(`${file}: ${error.code}: ${error.message}`);
    return 1;
  } finally {
    await analyzer.release();
  }
}
