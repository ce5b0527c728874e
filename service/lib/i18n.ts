import type { Request } from 'express';

/** A text a person reads, in both languages the service speaks. */
export interface Bilingual {
  zh: string;
  en: string;
}

export type Language = 'zh' | 'en';

/** Chinese unless the client prefers English (Accept-Language). */
export function languageOf(req: Request): Language {
  const chosen = req.acceptsLanguages('zh', 'zh-CN', 'en', 'en-US', 'en-GB');
  return typeof chosen === 'string' && chosen.startsWith('en') ? 'en' : 'zh';
}

export function pickLanguage(req: Request, text: Bilingual): string {
  return text[languageOf(req)];
}
