// Renders parsed Markdown (markdown.ts) as React elements: text is always text (React escapes it), links show
// their address instead of opening it, and no element loads anything.
import type { ReactNode } from 'react';
import { parseMarkdown, type Block, type Inline } from './markdown';

function inline(spans: Inline[]): ReactNode[] {
  return spans.map((s, k) => {
    switch (s.t) {
      case 'text':
        return s.text;
      case 'code':
        return <code key={k}>{s.text}</code>;
      case 'strong':
        return <strong key={k}>{inline(s.children)}</strong>;
      case 'em':
        return <em key={k}>{inline(s.children)}</em>;
      case 'link':
        return (
          <span key={k} className="md-link" title={s.href}>
            {inline(s.children)}
            {s.href && !s.href.startsWith('#') ? <span className="md-href"> ({s.href})</span> : null}
          </span>
        );
    }
  });
}

function block(b: Block, k: number): ReactNode {
  switch (b.t) {
    case 'heading': {
      const H = `h${Math.min(6, b.level + 2)}` as 'h3';
      return <H key={k}>{inline(b.children)}</H>;
    }
    case 'paragraph':
      return <p key={k}>{inline(b.children)}</p>;
    case 'list':
      return b.ordered ? (
        <ol key={k} start={b.start}>
          {b.items.map((it, j) => (
            <li key={j}>{inline(it)}</li>
          ))}
        </ol>
      ) : (
        <ul key={k}>
          {b.items.map((it, j) => (
            <li key={j}>{inline(it)}</li>
          ))}
        </ul>
      );
    case 'table':
      return (
        <div key={k} className="md-table-wrap">
          <table>
            <thead>
              <tr>
                {b.head.map((c, j) => (
                  <th key={j} style={b.align[j] ? { textAlign: b.align[j]! } : undefined}>
                    {inline(c)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((r, i) => (
                <tr key={i}>
                  {r.map((c, j) => (
                    <td key={j} style={b.align[j] ? { textAlign: b.align[j]! } : undefined}>
                      {inline(c)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case 'code':
      return (
        <pre key={k}>
          <code>{b.text}</code>
        </pre>
      );
    case 'quote':
      return <blockquote key={k}>{b.children.map(block)}</blockquote>;
    case 'rule':
      return <hr key={k} />;
  }
}

export function Markdown(props: { source: string; testId?: string }) {
  return (
    <div className="markdown" data-testid={props.testId}>
      {parseMarkdown(props.source).map(block)}
    </div>
  );
}
