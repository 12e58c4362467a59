/**
 * `dataProducts[].allowedFunctions`, read once per statement: `schema.name` allows every overload,
 * `schema.name(argtype, ...)` one overload. Argument types are compared after normalising both
 * sides to the spelling format_type prints (`int4` and `int` are `integer`, `varchar(10)` is
 * `character varying`), so an entry written with an alias still names the overload it means.
 */
import type { CatalogFunction } from './catalog-types';

/** Alias -> the name format_type prints. */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  int: 'integer',
  int4: 'integer',
  int2: 'smallint',
  int8: 'bigint',
  varchar: 'character varying',
  char: 'character',
  bpchar: 'character',
  bool: 'boolean',
  float: 'double precision',
  float8: 'double precision',
  float4: 'real',
  decimal: 'numeric',
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  timetz: 'time with time zone',
  time: 'time without time zone',
  varbit: 'bit varying',
};

/** One argument type in the spelling format_type prints, without typmod, quotes or pg_catalog. */
function normalizeType(type: string): string {
  let text = type.trim().toLowerCase().replace(/"/g, '').replace(/\s+/g, ' ');
  let arrays = '';
  while (text.endsWith('[]')) {
    arrays += '[]';
    text = text.slice(0, -2).trim();
  }
  text = text
    .replace(/\s*\([^)]*\)/g, '')
    .replace(/^pg_catalog\./, '')
    .trim();
  return (TYPE_ALIASES[text] ?? text) + arrays;
}

/** Splits `a, numeric(10,2), b` at the commas outside parentheses. */
function splitArguments(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '' || out.length > 0) out.push(current);
  return out.map(normalizeType);
}

interface Entry {
  /** Undefined: every overload. */
  readonly argTypes?: string;
}

export class AllowedFunctions {
  private readonly entries = new Map<string, Entry[]>();

  constructor(list: readonly string[]) {
    for (const raw of list) {
      const match = /^\s*([^.(\s]+)\s*\.\s*([^(\s]+)\s*(?:\((.*)\))?\s*$/s.exec(raw);
      // An entry that does not read as a function name allows nothing (the schema check refuses it at load).
      if (!match) continue;
      const key = `${match[1]!}.${match[2]!}`;
      const list = this.entries.get(key) ?? [];
      list.push(match[3] === undefined ? {} : { argTypes: splitArguments(match[3]).join(',') });
      this.entries.set(key, list);
    }
  }

  /** Every overload of schema.name is allowed. */
  allowsEveryOverload(schema: string, name: string): boolean {
    return (this.entries.get(`${schema}.${name}`) ?? []).some((e) => e.argTypes === undefined);
  }

  allows(fn: CatalogFunction): boolean {
    const entries = this.entries.get(`${fn.schema}.${fn.name}`) ?? [];
    const signature = fn.argTypes.map(normalizeType).join(',');
    return entries.some((e) => e.argTypes === undefined || e.argTypes === signature);
  }
}
