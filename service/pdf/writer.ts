import fontkit from '@pdf-lib/fontkit';
import { degrees, fill, PDFDict, PDFDocument, PDFName, PDFNumber, PDFOperator, PDFOperatorNames, PDFString, popGraphicsState, pushGraphicsState, rgb, setFillingRgbColor, type PDFFont, type PDFPage, type RGB } from 'pdf-lib';
import QRCode from 'qrcode';
import { sliceFont, sliceFor, type Weight } from './fonts';

/** A4 in PDF points (1/72 inch). */
export const A4: [number, number] = [595.28, 841.89];
export const MM = 72 / 25.4;

export const INK = rgb(0.1, 0.1, 0.1);
export const SEAL_RED = rgb(0.8, 0.08, 0.08);

export interface TextStyle {
  size: number;
  weight?: Weight;
  color?: RGB;
  align?: 'left' | 'center' | 'right';
}

/** Advance widths (per 1000 units of size) by weight and character. */
const ADVANCES = new Map<string, number>();

interface Run {
  text: string;
  font: PDFFont;
}

/**
 * Width of a run: the sum of its characters' advances, cached (a property of the font, not of the
 * document). Our scripts need no kerning, and shaping every candidate line made wrapping the
 * slowest part of a document.
 */
function runWidth(run: Run, weight: Weight, size: number): number {
  let units = 0;
  for (const ch of run.text) {
    const key = `${weight}:${ch}`;
    let advance = ADVANCES.get(key);
    if (advance === undefined) {
      advance = run.font.widthOfTextAtSize(ch, 1000);
      ADVANCES.set(key, advance);
    }
    units += advance;
  }
  return (units * size) / 1000;
}

/**
 * A thin layer over pdf-lib for our documents: text in Noto Serif SC whatever characters it holds
 * (each run drawn with the font slice that has its glyphs), wrapped paragraphs, a vector QR code and
 * a round seal. Positions are in points from the page's bottom-left corner, as in PDF.
 */
export class PdfWriter {
  private readonly fonts = new Map<string, PDFFont>();

  private constructor(
    readonly doc: PDFDocument,
    readonly page: PDFPage,
  ) {}

  static async create(size: [number, number] = A4, meta: { title: string; subject?: string }): Promise<PdfWriter> {
    const doc = await PDFDocument.create({ updateMetadata: false });
    doc.registerFontkit(fontkit);
    doc.setTitle(meta.title, { showInWindowTitleBar: true });
    if (meta.subject) doc.setSubject(meta.subject);
    doc.setLanguage('zh-CN');
    doc.setProducer('fpc (pdf-lib)');
    doc.setCreator('family-planning certificate service');
    return new PdfWriter(doc, doc.addPage(size));
  }

  get width(): number {
    return this.page.getWidth();
  }

  get height(): number {
    return this.page.getHeight();
  }

  /** Stores a value in the document information dictionary (signed with the rest of the file). */
  setInfo(key: string, value: string): void {
    // pdf-lib keeps the information dictionary's accessor private; custom keys are standard PDF.
    (this.doc as unknown as { getInfoDict(): PDFDict }).getInfoDict().set(PDFName.of(key), PDFString.of(value));
  }

  private async font(file: string, weight: Weight): Promise<PDFFont> {
    const key = `${file}@${weight}`;
    let font = this.fonts.get(key);
    if (!font) {
      font = await this.doc.embedFont(await sliceFont(file, weight), { subset: true });
      this.fonts.set(key, font);
    }
    return font;
  }

  /** Splits text into runs drawn by one font slice each; characters no slice has become spaces. */
  private async runs(text: string, weight: Weight): Promise<Run[]> {
    const runs: Run[] = [];
    let current: { file: string; text: string } | undefined;
    let fallback: string | undefined;
    const flush = async (): Promise<void> => {
      if (current) runs.push({ text: current.text, font: await this.font(current.file, weight) });
      current = undefined;
    };
    for (const ch of text) {
      const file = sliceFor(ch.codePointAt(0)!) ?? (fallback ??= sliceFor(0x20)!);
      const glyph = sliceFor(ch.codePointAt(0)!) ? ch : ' ';
      if (current && current.file === file) current.text += glyph;
      else {
        await flush();
        current = { file, text: glyph };
      }
    }
    await flush();
    return runs;
  }

  /** Width of a line at a size. */
  async measure(text: string, style: TextStyle): Promise<number> {
    const weight = style.weight ?? 'regular';
    const runs = await this.runs(text, weight);
    return runs.reduce((w, r) => w + runWidth(r, weight, style.size), 0);
  }

  /** Draws one line; returns its width. */
  async text(text: string, x: number, y: number, style: TextStyle & { rotate?: number }): Promise<number> {
    const weight = style.weight ?? 'regular';
    const runs = await this.runs(text, weight);
    const width = runs.reduce((w, r) => w + runWidth(r, weight, style.size), 0);
    let at = style.align === 'center' ? x - width / 2 : style.align === 'right' ? x - width : x;
    for (const r of runs) {
      this.page.drawText(r.text, { x: at, y, size: style.size, font: r.font, color: style.color ?? INK, rotate: style.rotate ? degrees(style.rotate) : undefined });
      at += runWidth(r, weight, style.size);
    }
    return width;
  }

  /**
   * Draws text wrapped to `width` (Chinese breaks between any two characters; a Latin word stays
   * whole); returns the baseline below the last line.
   */
  async paragraph(text: string, x: number, y: number, width: number, style: TextStyle & { lineHeight?: number; indent?: number; breakAnywhere?: boolean }): Promise<number> {
    const lineHeight = style.lineHeight ?? style.size * 1.6;
    // An identifier or URL has no spaces to break at: `breakAnywhere` lets it break between characters.
    const tokens = (style.breakAnywhere ? Array.from(text) : text.match(/[A-Za-z0-9.,;:()'’\-/@%]+\s*|\s+|./gu)) ?? [];
    let line = '';
    let first = true;
    const limit = (): number => width - (first ? (style.indent ?? 0) : 0);
    for (const token of tokens) {
      if (token === '\n') {
        await this.text(line, x + (first ? (style.indent ?? 0) : 0), y, style);
        y -= lineHeight;
        line = '';
        first = false;
        continue;
      }
      const next = line + token;
      if (line !== '' && (await this.measure(next.trimEnd(), style)) > limit()) {
        await this.text(line.trimEnd(), x + (first ? (style.indent ?? 0) : 0), y, style);
        y -= lineHeight;
        line = token.trimStart();
        first = false;
      } else line = next;
    }
    if (line.trim() !== '') {
      await this.text(line.trimEnd(), x + (first ? (style.indent ?? 0) : 0), y, style);
      y -= lineHeight;
    }
    return y;
  }

  /**
   * A QR code, `size` points wide including the quiet zone, drawn as one filled path of horizontal
   * runs of dark modules (no seams between modules, and a short content stream).
   */
  qr(text: string, x: number, y: number, size: number): { version: number } {
    const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
    const n = qr.modules.size;
    const quiet = 4;
    const cell = size / (n + 2 * quiet);
    this.page.drawRectangle({ x, y, width: size, height: size, color: rgb(1, 1, 1) });
    const ops: PDFOperator[] = [pushGraphicsState(), setFillingRgbColor(0, 0, 0)];
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; ) {
        if (!qr.modules.get(row, col)) {
          col += 1;
          continue;
        }
        const start = col;
        while (col < n && qr.modules.get(row, col)) col += 1;
        const rect = [x + (quiet + start) * cell, y + size - (quiet + row + 1) * cell, (col - start) * cell, cell].map((v) => PDFNumber.of(Number(v.toFixed(3))));
        ops.push(PDFOperator.of(PDFOperatorNames.AppendRectangle, rect));
      }
    }
    ops.push(fill(), popGraphicsState());
    this.page.pushOperators(...ops);
    return { version: qr.version };
  }

  /**
   * The round official seal: a red ring, a five-pointed star and the authority's name along the
   * upper arc, the seal's purpose across the bottom. Drawn, not an image: it is the printed mark
   * of the signature the file carries, not a substitute for it.
   */
  async seal(name: string, purpose: string, cx: number, cy: number, radius: number): Promise<void> {
    this.page.drawCircle({ x: cx, y: cy, size: radius, borderColor: SEAL_RED, borderWidth: radius * 0.06, opacity: 0, borderOpacity: 0.85 });
    const star: Array<[number, number]> = [];
    for (let i = 0; i < 10; i++) {
      const r = i % 2 === 0 ? radius * 0.3 : radius * 0.12;
      const a = Math.PI / 2 + (i * Math.PI) / 5;
      star.push([r * Math.cos(a), r * Math.sin(a)]);
    }
    const path = `M ${star.map(([px, py]) => `${px.toFixed(2)} ${(-py).toFixed(2)}`).join(' L ')} Z`;
    this.page.drawSvgPath(path, { x: cx, y: cy, color: SEAL_RED, opacity: 0.85, borderWidth: 0 });
    const chars = Array.from(name);
    const size = Math.min(radius * 0.26, (Math.PI * 1.25 * radius * 0.72) / Math.max(chars.length, 1));
    const span = Math.min(Math.PI * 1.3, (chars.length * size * 1.15) / (radius * 0.72));
    for (let i = 0; i < chars.length; i++) {
      const a = Math.PI / 2 + span / 2 - (chars.length === 1 ? span / 2 : (i * span) / (chars.length - 1));
      const r = radius * 0.72;
      const rot = a - Math.PI / 2;
      // Place the glyph so that its centre sits on the arc, upright towards the rim.
      const gx = cx + r * Math.cos(a) - (size / 2) * Math.cos(rot) + size * 0.35 * Math.sin(rot);
      const gy = cy + r * Math.sin(a) - (size / 2) * Math.sin(rot) - size * 0.35 * Math.cos(rot);
      await this.text(chars[i]!, gx, gy, { size, weight: 'bold', color: SEAL_RED, rotate: (rot * 180) / Math.PI });
    }
    await this.text(purpose, cx, cy - radius * 0.55, { size: radius * 0.16, weight: 'bold', color: SEAL_RED, align: 'center' });
  }

  line(x1: number, y1: number, x2: number, y2: number, thickness = 0.8, color: RGB = INK): void {
    this.page.drawLine({ start: { x: x1, y: y1 }, end: { x: x2, y: y2 }, thickness, color });
  }

  rect(x: number, y: number, width: number, height: number, thickness = 1, color: RGB = INK): void {
    this.page.drawRectangle({ x, y, width, height, borderColor: color, borderWidth: thickness, opacity: 0 });
  }
}
