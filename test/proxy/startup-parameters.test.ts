/** How pgveil reads a startup packet's parameters: PostgreSQL's spellings, quoting and precedence. */
import { interpretStartup, parseOptions } from '../../proxy/session/startup-parameters';

const startup = (parameters: Record<string, string>) =>
  interpretStartup(new Map(Object.entries({ user: 'analyst', database: 'demo', ...parameters })));

test.each(["'utf-8'", 'utf-8', 'UTF8', 'utf8', 'unicode', 'Unicode', 'SQL_ASCII', "'UTF-8'"])(
  'client_encoding %s is accepted as PostgreSQL accepts it, and forwarded as given',
  (encoding) => {
    expect(startup({ client_encoding: encoding }).upstream.get('client_encoding')).toBe(encoding);
    expect(startup({ options: `-c client_encoding=${encoding}` }).upstream.get('client_encoding')).toBe(encoding);
  },
);

test.each(['SJIS', 'LATIN1', "'big5'", 'utf-16'])('client_encoding %s is refused', (encoding) => {
  expect(() => startup({ client_encoding: encoding })).toThrow(
    `client_encoding "${encoding}" is not supported through pgveil: use UTF8`,
  );
});

test('options: -c, -cname, --name with dashes, backslash-escaped spaces, names in any case', () => {
  expect(
    parseOptions(
      '-c statement_timeout=5s -cwork_mem=4MB --search-path=a,b  -c application_name=my\\ app --Lock_Timeout=1s',
    ),
  ).toEqual([
    ['statement_timeout', '5s'],
    ['work_mem', '4MB'],
    ['search_path', 'a,b'],
    ['application_name', 'my app'],
    ['Lock_Timeout', '1s'],
  ]);
  expect(parseOptions('-c search_path=')).toEqual([['search_path', '']]);
});

test('settings from options are forwarded under their canonical names; the packet wins over options, as in PostgreSQL', () => {
  const request = startup({
    options: '-c DateStyle=ISO,DMY -c search_path=reporting --pgveil.purpose=audit -c Lock_Timeout=1s',
    search_path: 'public',
  });
  expect([...request.upstream]).toEqual([
    ['DateStyle', 'ISO,DMY'],
    ['search_path', 'public'],
    ['pgveil.purpose', 'audit'],
    ['lock_timeout', '1s'],
  ]);
  expect(request.purpose).toBe('audit');
});

test('a setting outside the allow-list is refused in options and dropped as a parameter of its own', () => {
  expect(() => startup({ options: '-c log_statement=all' })).toThrow(
    'startup option "log_statement" is not allowed through pgveil',
  );
  expect([...startup({ log_statement: 'all', geqo: 'off' }).upstream]).toEqual([]);
});
