/** subset-font ships no types; the part of its API we use. */
declare module 'subset-font' {
  interface Options {
    targetFormat?: 'sfnt' | 'woff' | 'woff2' | 'truetype';
    keepAllGlyphs?: boolean;
    variationAxes?: Record<string, number | { min: number; max: number; default?: number }>;
    preserveNameIds?: number[];
  }
  function subsetFont(font: Buffer | Uint8Array, text: string | null, options?: Options): Promise<Buffer>;
  export = subsetFont;
}
