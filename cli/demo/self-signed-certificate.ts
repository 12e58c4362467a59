/**
 * The demo serves TLS with a self-signed pair so that `sslmode=require` works out of the box. The
 * pair is made by the openssl command (present on Debian and most images) rather than by hand-written
 * crypto; without openssl the demo runs without TLS and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

export function ensureSelfSignedCertificate(dir: string): CertificatePair | undefined {
  const pair = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
  if (existsSync(pair.cert) && existsSync(pair.key)) return pair;
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '825',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        pair.key,
        '-out',
        pair.cert,
      ],
      { stdio: 'ignore' },
    );
    return pair;
  } catch {
    return undefined;
  }
}
