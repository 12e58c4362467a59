/** Security events are written in the background: read a file until it contains a fragment (or 2 s pass). */
import { existsSync, readFileSync } from 'node:fs';

export async function waitForText(path: string, fragment: string, timeoutMs = 2000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (text.includes(fragment) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}
