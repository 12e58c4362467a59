/**
 * The folder structure docs/architecture.md describes: each top-level folder of the product is used
 * by the others only through its index.ts, so what a folder offers is what its index exports, and
 * a file inside it can be moved or split without reaching into its neighbours. Every import,
 * export-from, dynamic import() and require() of every .ts file is read with the TypeScript parser
 * (type-only ones too: a type is part of a folder's surface like a value).
 *
 * Beside it, modules of different folders that load each other at run time (type-only imports are
 * erased) must not grow a cycle: in a cycle, one module reads another while it is half-loaded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../..');
const FOLDERS = ['audit', 'catalog', 'cli', 'discovery', 'gate', 'ops', 'policies', 'ports', 'proxy', 'rewriter'];

/**
 * Imports that reach past a folder's index on purpose, each with its reason; an entry that no
 * longer matches an import fails the test too, so the list only shrinks.
 */
const PAST_THE_INDEX: Readonly<Record<string, string>> = {};

/**
 * Cycles of modules across folders at run time that exist today, each named by the sorted folders
 * its modules are in. A new cycle, or one of these reaching another folder, fails; one of these gone
 * fails too until it is taken off this list.
 */
const KNOWN_CYCLES: Readonly<Record<string, string>> = {};

interface Import {
  readonly from: string;
  readonly specifier: string;
  readonly runtime: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Whether a named import or export brings in anything but types. */
function anyValue(elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>): boolean {
  return elements.length === 0 || elements.some((e) => !e.isTypeOnly);
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (specifier: ts.Expression | undefined, runtime: boolean): void => {
    if (specifier && ts.isStringLiteralLike(specifier)) found.push({ from: file, specifier: specifier.text, runtime });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const runtime =
        !clause ||
        (!clause.isTypeOnly &&
          (clause.name !== undefined ||
            (clause.namedBindings !== undefined &&
              (ts.isNamespaceImport(clause.namedBindings) || anyValue(clause.namedBindings.elements)))));
      add(node.moduleSpecifier, runtime);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      const runtime = !node.isTypeOnly && (!clause || ts.isNamespaceExport(clause) || anyValue(clause.elements));
      add(node.moduleSpecifier, runtime);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, !node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0], true);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The import's target as a path from the root without extension, e.g. `proxy/index`, or undefined outside. */
function target(imp: Import): string | undefined {
  if (!imp.specifier.startsWith('.')) return undefined;
  return relative(ROOT, resolve(ROOT, dirname(imp.from), imp.specifier))
    .split(sep)
    .join('/')
    .replace(/\.(ts|js)$/, '');
}

const folderOf = (path: string): string => path.split('/')[0]!;

const imports = FOLDERS.flatMap(sourceFiles).flatMap(importsOf);
const crossing = imports.flatMap((imp) => {
  const to = target(imp);
  if (to === undefined) return [];
  const [from, into] = [folderOf(imp.from), folderOf(to)];
  // package.json (the version) and other root files are not a folder.
  return from !== into && FOLDERS.includes(into) ? [{ ...imp, to, into }] : [];
});

test('the files were read: imports cross folders, value and type-only ones', () => {
  // A parser or path mistake that finds nothing would make every other check here pass.
  expect(FOLDERS.flatMap(sourceFiles).length).toBeGreaterThan(150);
  expect(crossing.filter((c) => c.runtime).length).toBeGreaterThan(50);
  expect(crossing.filter((c) => !c.runtime).length).toBeGreaterThan(20);
});

test('every folder has an index', () => {
  for (const folder of FOLDERS) expect(sourceFiles(folder)).toContain(join(folder, 'index.ts'));
});

test('imports across folders go through the folder index', () => {
  const past = crossing
    .filter((c) => c.to !== c.into && c.to !== `${c.into}/index`)
    .map((c) => `${c.from.split(sep).join('/')} -> ${c.to}`);
  expect([...new Set(past)].sort()).toEqual(Object.keys(PAST_THE_INDEX).sort());
});

test('modules of different folders that load each other form no cycle but the known ones', () => {
  const path = (file: string): string => file.split(sep).join('/');
  const known = new Set(imports.map((imp) => path(imp.from)));
  const edges = new Map<string, string[]>([...known].map((file) => [file, []]));
  for (const imp of imports) {
    const to = target(imp);
    if (!imp.runtime || to === undefined) continue;
    const file = [`${to}.ts`, `${to}/index.ts`].find((f) => known.has(f));
    if (file) edges.get(path(imp.from))!.push(file);
  }
  // Tarjan's strongly connected components: one of several modules is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const connect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const folders = new Set<string>();
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      folders.add(folderOf(w));
      if (w === v) break;
    }
    if (folders.size > 1) cycles.push([...folders].sort().join(' '));
  };
  for (const file of edges.keys()) if (!index.has(file)) connect(file);
  expect(cycles.sort()).toEqual(Object.keys(KNOWN_CYCLES).sort());
});
