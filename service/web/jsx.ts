/**
 * A small typed JSX runtime that renders to a string. Text and attribute values are escaped unless
 * they are `SafeHtml` made by this module: a hostile name typed into a form comes out as text.
 * Templates are `.tsx` files compiled with `jsxFactory: h` (tsconfig), so tags and attributes are
 * type-checked like any other code.
 */

export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export type Child = string | number | SafeHtml | null | undefined | false | true | Child[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Markup that is already safe (made by this runtime, or trusted output such as our own QR SVG). */
export const raw = (html: string): SafeHtml => new SafeHtml(html);

function renderChild(child: Child, out: string[]): void {
  if (child === null || child === undefined || child === false || child === true) return;
  if (Array.isArray(child)) {
    for (const c of child) renderChild(c, out);
  } else if (child instanceof SafeHtml) {
    out.push(child.html);
  } else {
    out.push(escapeHtml(String(child)));
  }
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

type AttrValue = string | number | boolean | null | undefined;
type Component<P> = (props: P & { children?: Child }) => SafeHtml;

export function h(tag: string | Component<Record<string, unknown>>, props: Record<string, unknown> | null, ...children: Child[]): SafeHtml {
  if (typeof tag === 'function') return tag({ ...(props ?? {}), children: children.length === 1 ? children[0] : children });
  const out: string[] = ['<', tag];
  for (const [name, value] of Object.entries(props ?? {}) as [string, AttrValue][]) {
    if (value === false || value === null || value === undefined) continue;
    const attr = name === 'className' ? 'class' : name === 'htmlFor' ? 'for' : name;
    if (value === true) out.push(' ', attr);
    else out.push(' ', attr, '="', escapeHtml(String(value)), '"');
  }
  out.push('>');
  if (VOID.has(tag)) return new SafeHtml(out.join(''));
  renderChild(children, out);
  out.push('</', tag, '>');
  return new SafeHtml(out.join(''));
}

export function Fragment(props: { children?: Child }): SafeHtml {
  const out: string[] = [];
  renderChild(props.children, out);
  return new SafeHtml(out.join(''));
}

/** A whole document. */
export const renderDocument = (root: SafeHtml): string => `<!doctype html>${root.html}`;

interface Common {
  id?: string;
  className?: string;
  lang?: string;
  title?: string;
  role?: string;
  hidden?: boolean;
  tabindex?: number;
  dir?: 'ltr' | 'rtl' | 'auto';
  children?: Child;
  [aria: `aria-${string}`]: AttrValue;
  [data: `data-${string}`]: AttrValue;
}
interface Anchor extends Common { href?: string; rel?: string; target?: string; download?: boolean | string; hreflang?: string }
interface Form extends Common { action?: string; method?: 'get' | 'post'; enctype?: string; novalidate?: boolean }
interface Input extends Common {
  type?: string; name?: string; value?: string | number; checked?: boolean; required?: boolean; disabled?: boolean;
  autocomplete?: string; inputmode?: string; maxlength?: number; minlength?: number; pattern?: string; accept?: string;
  capture?: string; spellcheck?: 'true' | 'false'; autofocus?: boolean; min?: string | number; max?: string | number; readonly?: boolean;
}
interface Label extends Common { htmlFor?: string }
interface Select extends Common { name?: string; required?: boolean; autocomplete?: string }
interface OptionEl extends Common { value?: string; selected?: boolean }
interface OptGroup extends Common { label: string }
interface Textarea extends Common { name?: string; rows?: number; maxlength?: number; required?: boolean }
interface Button extends Common { type?: 'submit' | 'button'; name?: string; value?: string; formaction?: string }
interface Meta { charset?: string; name?: string; content?: string; 'http-equiv'?: string }
interface Link { rel?: string; href?: string; type?: string }
interface Script { src?: string; defer?: boolean; type?: string; children?: never }
interface Img extends Common { src?: string; alt: string; width?: number; height?: number }
interface Td extends Common { colspan?: number; scope?: 'row' | 'col' }
interface Time extends Common { datetime?: string }
interface Ol extends Common { start?: number }
interface Iframe extends Common { src: string; title: string; sandbox: string; referrerpolicy?: string }

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    type Element = SafeHtml;
    interface ElementChildrenAttribute {
      children: unknown;
    }
    interface IntrinsicElements {
      html: Common; head: Common; body: Common; title: Common; meta: Meta; link: Link; script: Script; noscript: Common;
      header: Common; footer: Common; main: Common; nav: Common; section: Common; article: Common; aside: Common;
      h1: Common; h2: Common; h3: Common; p: Common; div: Common; span: Common; strong: Common; em: Common; small: Common;
      ul: Common; ol: Ol; li: Common; dl: Common; dt: Common; dd: Common; br: Common; hr: Common; a: Anchor; img: Img;
      form: Form; fieldset: Common; legend: Common; label: Label; input: Input; select: Select; option: OptionEl; optgroup: OptGroup;
      textarea: Textarea; button: Button; table: Common; caption: Common; thead: Common; tbody: Common; tr: Common;
      th: Td; td: Td; time: Time; details: Common; summary: Common; figure: Common; figcaption: Common; abbr: Common;
      iframe: Iframe; kbd: Common; code: Common;
    }
  }
}
