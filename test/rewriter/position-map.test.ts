/** Positions in the rewritten text mapped back to the analyst's text, or to nothing. */
import { initRewriter } from '../../rewriter';
import { originalPosition } from '../../rewriter/position-map';
import { customers } from './golden-cases';

beforeAll(() => initRewriter());

const original = "SELECT  /* é */  ssn,\n  name FROM customers  WHERE ssn = 'x'";
const rewritten = `SELECT ssn, name FROM ${customers(undefined, false, false, ['name', 'ssn'])} WHERE ssn = 'x'`;
const at = (text: string, token: string, from = 0): number =>
  Array.from(text.slice(0, text.indexOf(token, from))).length + 1;

test('a token the analyst wrote maps to the same token of their text', () => {
  expect(originalPosition(original, rewritten, at(rewritten, 'ssn'))).toBe(at(original, 'ssn'));
  expect(originalPosition(original, rewritten, at(rewritten, 'name'))).toBe(at(original, 'name'));
  const where = rewritten.lastIndexOf('WHERE');
  expect(originalPosition(original, rewritten, at(rewritten, '=', where))).toBe(
    at(original, '=', original.indexOf('WHERE')),
  );
  expect(originalPosition(original, rewritten, at(rewritten, "'x'", where))).toBe(at(original, "'x'"));
});

test('a position inside text pgveil wrote maps to nothing', () => {
  expect(originalPosition(original, rewritten, at(rewritten, 'pgveil.keyed_hash'))).toBeUndefined();
  expect(originalPosition(original, rewritten, at(rewritten, "ARRAY['EU']"))).toBeUndefined();
  // Between tokens, past the end, before the start.
  expect(originalPosition(original, rewritten, at(rewritten, ' name'))).toBeUndefined();
  expect(originalPosition(original, rewritten, Array.from(rewritten).length + 5)).toBeUndefined();
  expect(originalPosition(original, rewritten, 0)).toBeUndefined();
});

test('texts that do not parse, or hold a different number of statements, map nothing', () => {
  expect(originalPosition('SELECT (', rewritten, 8)).toBeUndefined();
  expect(originalPosition('SELECT 1; SELECT ssn FROM customers', rewritten, 8)).toBeUndefined();
});
