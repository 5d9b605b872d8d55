import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The loader's import graph (issue 17): no import circles anywhere in functions/src, and the layers of the
 * normalizer point downward only: model <- naming <- schema <- normalize (nothing below imports anything above).
 */
const SRC = path.resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    // Test code (`*.test.ts`, `*.test-support.ts`) is outside the graph: it may import any layer.
    else if (entry.name.endsWith('.ts') && !/\.test(-support)?\.ts$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** Relative imports and re-exports of a file (type-only ones too: a circle of types is still a circle). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)) {
    out.push(path.resolve(path.dirname(file), m[1] as string));
  }
  return out;
}

function graph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  return new Map(files.map((f) => [f, importsOf(f).filter((i) => known.has(i))]));
}

/** Every import circle of `g`, each as the files around it (Tarjan's strongly connected components). */
function circles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(path.relative(SRC, w));
      } while (w !== v);
      if (component.length > 1 || (g.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of g.keys()) if (!indices.has(v)) visit(v);
  return out;
}

/** The normalizer's layers, lowest first: a file may import its own layer's files and lower layers' only. */
const LAYERS = ['model', 'naming', 'schema', 'normalize'] as const;

function layerOf(file: string): number {
  const top = path.relative(SRC, file).split(path.sep)[0] as string;
  return (LAYERS as readonly string[]).indexOf(top);
}

describe('import graph of functions/src', () => {
  it('has no import circles', () => {
    expect(circles(graph())).toEqual([]);
  });

  it('finds a circle when there is one (the check itself)', () => {
    const g = new Map([
      [`${SRC}/a.ts`, [`${SRC}/b.ts`]],
      [`${SRC}/b.ts`, [`${SRC}/c.ts`]],
      [`${SRC}/c.ts`, [`${SRC}/a.ts`]],
      [`${SRC}/d.ts`, [`${SRC}/a.ts`]],
    ]);
    expect(circles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('points downward only: model <- naming <- schema <- normalize', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph()) {
      const layer = layerOf(file);
      if (layer < 0) continue;
      for (const imported of imports) {
        const target = layerOf(imported);
        // Within the layers, only the same or a lower one; outside them, only the error registry and line type.
        const allowed =
          target >= 0
            ? target <= layer
            : ['errors.ts', path.join('load', 'line-reader.ts')].includes(path.relative(SRC, imported));
        if (!allowed) upward.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, imported)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps the model module a leaf', () => {
    for (const [file, imports] of graph()) {
      if (layerOf(file) === 0) expect(imports.map((i) => path.relative(SRC, i))).toEqual([]);
    }
  });
});
