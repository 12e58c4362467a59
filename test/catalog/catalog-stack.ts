/**
 * A running pgveil on the demo with its admin port and token, canaries planted in protected columns
 * and hostile names (a column named like a script, a rule description holding markup) so that every
 * catalog test checks escaping and leaks on the same data.
 */
import { randomBytes } from 'node:crypto';
import { startStack, type Stack } from '../support/pgveil-stack';
import { CANARY_SQL } from '../adversarial/canaries';

/** A column name and a rule description an attacker could have written; their markup must never run. */
export const SCRIPT_COLUMN = '<script>window.__pwned=1</script>';
const ATTRIBUTE_COLUMN = 'x" onmouseover="window.__pwned=2';
export const HOSTILE_DESCRIPTION = '<img src=x onerror="window.__pwned=3"> notes policy';

const HOSTILE_SQL = `
CREATE TABLE public.notes (id integer PRIMARY KEY, "${SCRIPT_COLUMN}" text, "${ATTRIBUTE_COLUMN.replace(/"/g, '""')}" text, contact text);
COMMENT ON COLUMN public.notes."${SCRIPT_COLUMN}" IS 'pgveil:tags=pii.email';
INSERT INTO public.notes VALUES (1, 'zq7canary.script@example.com', 'ZQ7NAME-attribute', NULL);
-- E-mail addresses in a column nothing tags: discovery proposes pii.email for it.
INSERT INTO public.notes SELECT g, NULL, NULL, 'reader' || g || '@example.org' FROM generate_series(2, 80) g;
`;

export interface CatalogStack {
  readonly stack: Stack;
  readonly token: string;
  readonly base: string;
  stop(): Promise<void>;
}

export async function startCatalogStack(prefix: string): Promise<CatalogStack> {
  const tokenEnv = `PGVEIL_TEST_CATALOG_TOKEN_${randomBytes(4).toString('hex')}`;
  const token = randomBytes(24).toString('base64url');
  process.env[tokenEnv] = token;
  const stack = await startStack(prefix, {
    extraSql: `${CANARY_SQL}\n${HOSTILE_SQL}`,
    configLines: [`admin: { port: 0, tokenEnv: ${tokenEnv} }`],
    // A rule whose description holds markup, on the hostile table: the policies page shows it.
    policyYaml: (demo) =>
      demo.replace(
        'domainPolicies:\n',
        `domainPolicies:\n  - id: notes-private\n    domain: sales\n    description: ${JSON.stringify(HOSTILE_DESCRIPTION)}\n    tables: [public.notes]\n    unless: { attribute: clearance, equals: pii }\n    columns:\n      - columns: ["public.notes.${ATTRIBUTE_COLUMN.replace(/"/g, '\\"')}"]\n        action: { kind: "null" }\n`,
      ),
  });
  return {
    stack,
    token,
    base: `http://127.0.0.1:${stack.pgveil.adminPort}`,
    async stop() {
      await stack.stop();
      delete process.env[tokenEnv];
    },
  };
}

/** Signs in through the form as a browser would and returns the session cookie. */
export async function signIn(base: string, token: string): Promise<string> {
  const form = await fetch(`${base}/catalog/login`);
  const loginCookie = form.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  // (Every body is read to its end: an unread one would hold its connection open.)
  const answer = await fetch(`${base}/catalog/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie, origin: base },
    body: new URLSearchParams({ csrf, token, next: '/catalog' }).toString(),
  });
  const text = await answer.text();
  if (answer.status !== 303) throw new Error(`sign-in answered ${answer.status}: ${text}`);
  const session = answer.headers.getSetCookie().find((c) => c.startsWith('pgveil_catalog='));
  return session!.split(';')[0]!;
}
