/**
 * Which startup parameters reach upstream. Only settings that change presentation pass; anything
 * that could change server behaviour (`options=-c ...`, replication, arbitrary GUCs) is refused when
 * asked for explicitly through `options`, and dropped otherwise.
 */
import { PgError } from '../pg-error';
import { SAFE_CLIENT_ENCODINGS } from '../../rewriter/statement-guard';

const FORWARDED = new Map([
  ['application_name', 'application_name'],
  ['client_encoding', 'client_encoding'],
  ['datestyle', 'DateStyle'],
  ['timezone', 'TimeZone'],
  ['extra_float_digits', 'extra_float_digits'],
  ['intervalstyle', 'IntervalStyle'],
  ['search_path', 'search_path'],
]);

export interface StartupRequest {
  readonly user: string;
  readonly database: string;
  readonly applicationName: string | undefined;
  readonly purpose: string | undefined;
  /** Parameters pgveil forwards upstream, canonical names. */
  readonly upstream: ReadonlyMap<string, string>;
}

export function interpretStartup(parameters: ReadonlyMap<string, string>): StartupRequest {
  const user = parameters.get('user');
  if (!user) throw new PgError('28000', 'no user name specified in the startup packet', 'FATAL');
  if (parameters.has('replication')) throw new PgError('42501', 'replication connections are not allowed through pgveil', 'FATAL');
  const settings = new Map<string, string>();
  let purpose = parameters.get('pgveil.purpose');
  for (const [name, value] of parameters) {
    const canonical = FORWARDED.get(name.toLowerCase());
    if (canonical) settings.set(canonical, value);
  }
  const encoding = settings.get('client_encoding');
  if (encoding !== undefined && !SAFE_CLIENT_ENCODINGS.has(encoding.toLowerCase())) {
    throw new PgError('22023', `client_encoding "${encoding}" is not supported through pgveil: use UTF8`, 'FATAL');
  }
  for (const [name, value] of parseOptions(parameters.get('options') ?? '')) {
    if (name === 'pgveil.purpose') {
      purpose = value;
      continue;
    }
    const canonical = FORWARDED.get(name.toLowerCase());
    if (!canonical || canonical === 'search_path' || canonical === 'client_encoding') {
      throw new PgError('42501', `startup option "${name}" is not allowed through pgveil`, 'FATAL');
    }
    settings.set(canonical, value);
  }
  return { user, database: parameters.get('database') ?? user, applicationName: settings.get('application_name'), purpose, upstream: settings };
}

/** `options` holds command-line switches: `-c name=value`, `--name=value`, backslash escapes spaces. */
function parseOptions(options: string): Array<[string, string]> {
  const words: string[] = [];
  let current = '';
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) current += options[++i];
    else if (/\s/.test(ch)) {
      if (current) words.push(current);
      current = '';
    } else current += ch;
  }
  if (current) words.push(current);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let setting: string | undefined;
    if (word === '-c') setting = words[++i];
    else if (word.startsWith('-c')) setting = word.slice(2);
    else if (word.startsWith('--')) setting = word.slice(2);
    else throw new PgError('42501', `startup option "${word}" is not allowed through pgveil`, 'FATAL');
    const eq = setting?.indexOf('=') ?? -1;
    if (!setting || eq <= 0) throw new PgError('42601', `invalid startup option "${setting ?? word}"`, 'FATAL');
    out.push([setting.slice(0, eq).replace(/-/g, '_'), setting.slice(eq + 1)]);
  }
  return out;
}
