/** The main log (pino) redacts secrets whatever a call site hands it. */
import { Writable } from 'node:stream';
import { createLogger } from '../../ops';

test('logs redact secrets whatever the call site passes', () => {
  let out = '';
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => ((out += chunk.toString()), cb()) });
  const log = createLogger('info', sink);
  log.info(
    { user: 'ana', password: 'hunter2', upstream: { password: 'svc-pass', token: 'jwt.jwt.jwt' }, key: 'k' },
    'connecting',
  );
  expect(out).toContain('"user":"ana"');
  for (const secret of ['hunter2', 'svc-pass', 'jwt.jwt.jwt', '"key":"k"']) expect(out).not.toContain(secret);
});
