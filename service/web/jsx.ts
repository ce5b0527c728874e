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

/** Appends a child's markup to `out` (strings concatenated: no array per element, no join). */
function renderChild(child: Child, out: string): string {
  if (child === null || child === undefined || child === false || child === true) return out;
  if (typeof child === 'string') return out + escapeText(child);
  if (child instanceof SafeHtml) return out + child.html;
  if (Array.isArray(child)) {
    for (let i = 0; i < child.length; i += 1) out = renderChild(child[i]!, out);
    return out;
  }
  return out + escapeText(String(child));
}

/** Most text has nothing to escape: test first, replace only when needed. */
const NEEDS_ESCAPE = /[&<>"']/;
const escapeText = (s: string): string => (NEEDS_ESCAPE.test(s) ? escapeHtml(s) : s);

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

type AttrValue = string | number | boolean | null | undefined;
type Component<P> = (props: P & { children?: Child }) => SafeHtml;

export function h(tag: string | Component<Record<string, unknown>>, props: Record<string, unknown> | null, ...children: Child[]): SafeHtml {
  if (typeof tag === 'function') {
    // The compiled JSX passes a fresh props object per call: it can take the children itself.
    const own = props ?? {};
    own.children = children.length === 1 ? children[0] : children;
    return tag(own);
  }
  let out = `<${tag}`;
  if (props) {
    for (const name in props) {
      const value = props[name] as AttrValue;
      if (value === false || value === null || value === undefined) continue;
      const attr = name === 'className' ? 'class' : name === 'htmlFor' ? 'for' : name;
      out += value === true ? ` ${attr}` : ` ${attr}="${escapeText(String(value))}"`;
    }
  }
  out += '>';
  if (VOID.has(tag)) return new SafeHtml(out);
  out = renderChild(children, out);
  return new SafeHtml(`${out}</${tag}>`);
}

export function Fragment(props: { children?: Child }): SafeHtml {
  return new SafeHtml(renderChild(props.children, ''));
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
/** Server-drawn charts: SVG elements with presentation attributes (no style attribute: the CSP forbids it). */
interface SvgEl extends Common {
  viewBox?: string; xmlns?: string; width?: number | string; height?: number | string; x?: number; y?: number;
  x1?: number; x2?: number; y1?: number; y2?: number; fill?: string; stroke?: string; 'stroke-width'?: number | string;
  'font-size'?: number | string; 'text-anchor'?: 'start' | 'middle' | 'end'; focusable?: 'true' | 'false';
}
interface Iframe extends Common { src: string; title: string; sandbox: string; referrerpolicy?: string; width?: string; height?: string }

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
      svg: SvgEl; g: SvgEl; rect: SvgEl; line: SvgEl; text: SvgEl; desc: Common;
      iframe: Iframe; kbd: Common; code: Common;
    }
  }
}
