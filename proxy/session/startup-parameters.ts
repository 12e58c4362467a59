/**
 * Which startup parameters reach upstream. PostgreSQL reads every startup parameter other than
 * user, database, options and replication as a setting, and `options` as command-line switches
 * (`-c name=value`, `--name=value`). pgveil takes both exactly where `SET` may change the setting
 * through pgveil (the SETTABLE allow-list, with SET's own checks on the value) and forwards them
 * upstream as plain startup settings. A setting outside the list asked for through `options` is
 * refused (FATAL); given as a parameter of its own it is dropped, as drivers send a few by habit.
 */
import { PgError } from '../pg-error';
import { isSafeClientEncoding, SETTABLE } from '../../rewriter';

/** The spelling PostgreSQL reports in ParameterStatus, for the settings that have capitals. */
const CANONICAL = new Map([
  ['datestyle', 'DateStyle'],
  ['timezone', 'TimeZone'],
  ['intervalstyle', 'IntervalStyle'],
]);

/** Startup parameters that are not settings. */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

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
  if (parameters.has('replication'))
    throw new PgError('42501', 'replication connections are not allowed through pgveil', 'FATAL');
  const settings = new Map<string, string>();
  let purpose: string | undefined;
  const apply = (name: string, value: string, fromOptions: boolean): void => {
    // Setting names are case-insensitive, as in SET.
    const key = name.toLowerCase();
    if (key === 'pgveil.purpose') {
      // pgveil decides with it; upstream holds it too, so current_setting and RESET agree with pgveil.
      purpose = value;
      settings.set(key, value);
      return;
    }
    if (!SETTABLE.has(key)) {
      if (fromOptions) throw new PgError('42501', `startup option "${name}" is not allowed through pgveil`, 'FATAL');
      return;
    }
    if (key === 'client_encoding' && !isSafeClientEncoding(value)) {
      throw new PgError('22023', `client_encoding "${value}" is not supported through pgveil: use UTF8`, 'FATAL');
    }
    settings.set(CANONICAL.get(key) ?? key, value);
  };
  // PostgreSQL applies the switches in `options` first, then the packet's own settings, which win.
  for (const [name, value] of parseOptions(parameters.get('options') ?? '')) apply(name, value, true);
  for (const [name, value] of parameters) {
    // `_pq_.` names are protocol extensions, not settings; PostgreSQL answers them itself.
    if (!NOT_SETTINGS.has(name) && !name.startsWith('_pq_.')) apply(name, value, false);
  }
  return {
    user,
    database: parameters.get('database') ?? user,
    applicationName: settings.get('application_name'),
    purpose,
    upstream: settings,
  };
}

/**
 * `options` holds command-line switches, split at unescaped white space, a backslash taking the next
 * character literally (pg_split_opts). Only `-c name=value`, `-cname=value` and `--name=value` set
 * a setting; in a name, `-` stands for `_` (ParseLongOption).
 */
export function parseOptions(options: string): Array<[string, string]> {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) {
      current += options[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let setting: string | undefined;
    if (word === '-c') setting = words[++i];
    else if (word.startsWith('-c')) setting = word.slice(2);
    else if (word.startsWith('--')) setting = word.slice(2);
    else throw new PgError('42501', `startup option "${word}" is not allowed through pgveil`, 'FATAL');
    const eq = setting?.indexOf('=') ?? -1;
    if (setting === undefined || eq <= 0)
      throw new PgError('42601', `startup option "${setting ?? word}" requires a value`, 'FATAL');
    out.push([setting.slice(0, eq).replace(/-/g, '_'), setting.slice(eq + 1)]);
  }
  return out;
}
