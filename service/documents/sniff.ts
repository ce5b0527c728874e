import type { Bilingual } from '../lib/i18n';

/**
 * The type of an uploaded document, decided by its first bytes AND its name's extension together:
 * a PDF named `.exe` or a PNG named `.pdf` is refused, so what a clerk downloads and opens is what
 * the name says.
 *
 * A small own check rather than file-type@21: three signatures at offset 0 are all we accept, the
 * check is synchronous on the head bytes the upload engine already kept (no second read), and
 * file-type is ESM-only, which this CommonJS service could only reach through a dynamic import.
 */
export type DocumentMediaType = 'application/pdf' | 'image/jpeg' | 'image/png';

export type SniffResult =
  | { ok: true; mediaType: DocumentMediaType; extension: string }
  | { ok: false; reason: 'unrecognised_content' | 'extension_mismatch'; message: Bilingual };

const SIGNATURES: ReadonlyArray<{ mediaType: DocumentMediaType; magic: Buffer; extensions: readonly string[] }> = [
  { mediaType: 'application/pdf', magic: Buffer.from('%PDF-', 'latin1'), extensions: ['.pdf'] },
  { mediaType: 'image/jpeg', magic: Buffer.from([0xff, 0xd8, 0xff]), extensions: ['.jpg', '.jpeg'] },
  { mediaType: 'image/png', magic: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), extensions: ['.png'] },
];

/** How many leading bytes `sniff` needs. */
export const SNIFF_BYTES = Math.max(...SIGNATURES.map((s) => s.magic.length));

/** The lower-cased extension of the last path segment of a client-supplied name, '' if none. */
function extensionOf(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

export function sniff(head: Buffer, filename: string): SniffResult {
  const found = SIGNATURES.find((s) => head.length >= s.magic.length && head.subarray(0, s.magic.length).equals(s.magic));
  if (!found) {
    return {
      ok: false,
      reason: 'unrecognised_content',
      message: { zh: '只接受 PDF、JPEG 或 PNG 文件', en: 'Only PDF, JPEG and PNG files are accepted' },
    };
  }
  const extension = extensionOf(filename);
  if (!found.extensions.includes(extension)) {
    return {
      ok: false,
      reason: 'extension_mismatch',
      // The client's extension is not echoed: it is arbitrary text.
      message: {
        zh: `文件内容是 ${found.mediaType}，文件名后缀应为 ${found.extensions.join(' 或 ')}`,
        en: `The file holds ${found.mediaType}; its name must end in ${found.extensions.join(' or ')}`,
      },
    };
  }
  return { ok: true, mediaType: found.mediaType, extension };
}
