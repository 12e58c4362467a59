/**
 * Refusal rule ids (rewriter/rewrite-types.ts RefusalRule), security event kinds
 * (audit/security-events.ts SecurityEventKind) and the session's event kinds (proxy/statement-gate.ts)
 * are closed unions, so a misspelt one does not compile (test/audit/closed-kinds.test.ts). The other
 * half: every member is something the product really produces. A member nothing produces is a rule
 * an operator looks for in vain, or a kind a SIEM rule waits for forever. Each member must appear as
 * a string literal in a product source file other than the one declaring the union.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../..');
const FOLDERS = ['audit', 'catalog', 'cli', 'discovery', 'gate', 'ops', 'policies', 'ports', 'proxy', 'rewriter'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const parsed = new Map(
  FOLDERS.flatMap(sourceFiles).map((file) => [
    file,
    ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true),
  ]),
);

/** The string literal members of a union type alias. */
function members(file: string, alias: string): string[] {
  let union: string[] | undefined;
  parsed.get(file)!.forEachChild((node) => {
    if (ts.isTypeAliasDeclaration(node) && node.name.text === alias && ts.isUnionTypeNode(node.type))
      union = node.type.types.map((t) => {
        if (!ts.isLiteralTypeNode(t) || !ts.isStringLiteral(t.literal)) throw new Error(`${alias}: ${t.getText()}`);
        return t.literal.text;
      });
  });
  if (!union) throw new Error(`no union ${alias} in ${file}`);
  return union;
}

/** Every string literal (and template without substitutions) of each file but `except`. */
function literals(except: string): Set<string> {
  const found = new Set<string>();
  for (const [file, source] of parsed) {
    if (file === except) continue;
    const visit = (node: ts.Node): void => {
      // Type positions name members without producing them.
      if (ts.isLiteralTypeNode(node)) return;
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.add(node.text);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

test.each([
  ['rewriter/rewrite-types.ts', 'RefusalRule', 50],
  ['audit/security-events.ts', 'SecurityEventKind', 14],
  ['proxy/statement-gate.ts', 'SessionEventKind', 7],
])('every member of %s %s is produced somewhere', (file, alias, least) => {
  const union = members(file, alias);
  expect(union.length).toBeGreaterThanOrEqual(least);
  const produced = literals(file);
  expect(union.filter((member) => !produced.has(member))).toEqual([]);
});

test('the pooling additions are members', () => {
  expect(members('rewriter/rewrite-types.ts', 'RefusalRule')).toEqual(
    expect.arrayContaining(['unknown_statement', 'duplicate_statement', 'pooling_unsupported', 'rate_limit']),
  );
  expect(members('audit/security-events.ts', 'SecurityEventKind')).toContain('limit_exceeded');
  expect(members('proxy/statement-gate.ts', 'SessionEventKind')).toContain('limit_exceeded');
});
