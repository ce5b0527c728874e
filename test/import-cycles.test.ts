import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

/**
 * The service's modules import each other without a circle: type-only imports count too (a circle
 * through types still means two modules that cannot be read, moved or tested apart).
 */
const ROOT = path.join(__dirname, '..', 'service');

type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  return [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
}

/** Every relative import (static, type-only, re-export or dynamic) of every module under `root`. */
function importGraph(root: string): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(root)) {
    const imported = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles;
    const targets = imported.map((i) => resolveImport(file, i.fileName)).filter((t): t is string => t !== undefined);
    graph.set(path.relative(root, file), [...new Set(targets.map((t) => path.relative(root, t)))]);
  }
  return graph;
}

/** The circles of a graph, each as the path that closes it (a → b → … → a); depth-first. */
function findCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    trail.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...trail.slice(trail.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    trail.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('Module imports', () => {
  it('when every import under service/ is followed, then no module comes back to itself (types included)', () => {
    const graph = importGraph(ROOT);
    assert.deepEqual(findCycles(graph).map((c) => c.join(' -> ')), []);
  });

  it('when two modules import each other, even by type alone, then the check names the circle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-cycle-'));
    fs.mkdirSync(path.join(dir, 'stats'));
    fs.writeFileSync(path.join(dir, 'context.ts'), "import type { Models } from './models';\nexport interface C { m: Models }\n");
    fs.writeFileSync(path.join(dir, 'models.ts'), "import { ensure } from './stats/stats.service';\nexport type Models = { ensure: typeof ensure };\n");
    fs.writeFileSync(path.join(dir, 'stats', 'stats.service.ts'), "import type { C } from '../context';\nexport const ensure = (c: C) => c;\n");
    try {
      assert.deepEqual(findCycles(importGraph(dir)).map((c) => c.join(' -> ')), ['context.ts -> models.ts -> stats/stats.service.ts -> context.ts']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
