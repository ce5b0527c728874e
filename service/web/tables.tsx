import { h, type Child, type SafeHtml } from './jsx';

/**
 * A table of figures or records that scrolls sideways on a narrow screen: a focusable region named
 * by its caption (or a label), column heads, then the rows given as children.
 */
export function FigureTable(p: { id: string; caption?: string; label?: string; heads: string[]; children?: Child }): SafeHtml {
  return (
    <div className="table-scroll" role="region" aria-labelledby={p.caption ? p.id : undefined} aria-label={p.caption ? undefined : p.label} tabindex={0}>
      <table className="figures">
        {p.caption ? <caption id={p.id}>{p.caption}</caption> : null}
        <thead>
          <tr>
            {p.heads.map((head) => <th scope="col">{head}</th>)}
          </tr>
        </thead>
        <tbody>{p.children}</tbody>
      </table>
    </div>
  );
}
