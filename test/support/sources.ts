import fs from 'node:fs';
import path from 'node:path';

/** The service's source folder, for tests that scan the code itself (ownership, access). */
export const SERVICE = path.resolve(__dirname, '../../service');

/** Every TypeScript source under `dir` (declarations left out). */
export function sources(dir = SERVICE): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** A source's path inside service/, with forward slashes (`applications/applications.store.ts`). */
export const rel = (file: string): string => path.relative(SERVICE, file).split(path.sep).join('/');
