import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseMarkdown, parseInline, inlineText, type Block } from './markdown';
import { repoRoot } from '../../../electron/testing/index';

test('blocks: headings, paragraphs, lists, tables, code, quotes, rules', () => {
  const md = [
    '# Model card — cxr-tb-v1',
    '',
    'First line',
    'continues here.',
    '## Data',
    '- one',
    '- two',
    '  continued',
    '1. first',
    '2. second',
    '',
    '| Metric | Ours | Paper |',
    '|:--|--:|:-:|',
    '| AUC | 0.91 | 0.93 |',
    '| a \\| b | 1 |',
    '',
    '```',
    '<script>alert(1)</script>',
    '```',
    '> a quote',
    '---',
  ].join('\n');
  const b = parseMarkdown(md);
  assert.deepEqual(b.map((x) => x.t), ['heading', 'paragraph', 'heading', 'list', 'list', 'table', 'code', 'quote', 'rule']);
  assert.equal(inlineText((b[0] as Extract<Block, { t: 'heading' }>).children), 'Model card — cxr-tb-v1');
  assert.equal(inlineText((b[1] as Extract<Block, { t: 'paragraph' }>).children), 'First line continues here.');
  const ul = b[3] as Extract<Block, { t: 'list' }>;
  assert.deepEqual(ul.items.map(inlineText), ['one', 'two continued']);
  assert.equal((b[4] as Extract<Block, { t: 'list' }>).ordered, true);
  const table = b[5] as Extract<Block, { t: 'table' }>;
  assert.deepEqual(table.head.map(inlineText), ['Metric', 'Ours', 'Paper']);
  assert.deepEqual(table.align, ['left', 'right', 'center']);
  assert.deepEqual(table.rows.map((r) => r.map(inlineText)), [['AUC', '0.91', '0.93'], ['a | b', '1', '']]);
  assert.equal((b[6] as Extract<Block, { t: 'code' }>).text, '<script>alert(1)</script>', 'kept as text, never as HTML');
});

test('inline: strong, emphasis, code, links shown with their address, images as descriptions', () => {
  const s = parseInline('**bold** and *it* and `x_y` and [paper](https://example.org/p) ![chart](https://example.org/c.png) snake_case_name');
  assert.deepEqual(s.map((x) => x.t), ['strong', 'text', 'em', 'text', 'code', 'text', 'link', 'text', 'text', 'text']);
  const link = s.find((x) => x.t === 'link') as { href: string };
  assert.equal(link.href, 'https://example.org/p');
  assert.match(inlineText(s), /\[image: chart\]/);
  assert.match(inlineText(s), /snake_case_name$/, 'underscores inside words are not emphasis');
  assert.equal(inlineText(parseInline('5 * 3 * 2')), '5 * 3 * 2');
  assert.equal(inlineText(parseInline('unclosed **bold')), 'unclosed **bold');
  assert.equal(inlineText(parseInline('\\*not em\\*')), '*not em*');
});

test('the shipped model card parses into headings, tables and text, with nothing lost', () => {
  const card = fs.readFileSync(path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'MODEL_CARD.md'), 'utf8');
  const blocks = parseMarkdown(card);
  assert.ok(blocks.filter((b) => b.t === 'heading').length >= 3);
  assert.ok(blocks.some((b) => b.t === 'table'));
  // Every word of the card appears in the parsed text (formatting marks aside).
  const text = (bs: Block[]): string =>
    bs
      .map((b) =>
        b.t === 'heading' || b.t === 'paragraph' ? inlineText(b.children) : b.t === 'list' ? b.items.map(inlineText).join(' ') : b.t === 'table' ? [...b.head, ...b.rows.flat()].map(inlineText).join(' ') : b.t === 'code' ? b.text : b.t === 'quote' ? text(b.children) : '',
      )
      .join(' ');
  const parsed = new Set(text(blocks).split(/[^\p{L}\p{N}]+/u));
  const words = card.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2 && !/^(http|https|www)$/.test(w));
  const missing = words.filter((w) => !parsed.has(w));
  assert.deepEqual([...new Set(missing)].slice(0, 10), []);
});

test('hostile input stays text and parsing stays linear', () => {
  const b = parseMarkdown('<img src=x onerror=alert(1)> [x](javascript:alert(1))');
  assert.equal(b[0].t, 'paragraph');
  const t0 = performance.now();
  parseMarkdown(`${'*'.repeat(20000)}\n${'[a]('.repeat(5000)}\n${'| a '.repeat(3000)}`);
  assert.ok(performance.now() - t0 < 2000);
});
