/**
 * What an existing demo directory already says, and the few changes pgveil makes to files it wrote:
 * the ports (pgveil.yaml's `listen`, policies.yaml's upstream) so that `--port`/`--upstream-port`
 * given again are applied, not silently ignored; and the tag taxonomy an older pgveil's
 * policies.yaml lacks. A file that no longer has the line pgveil wrote is left alone and the flag is
 * refused, naming the key to edit.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEMO_TAGS_LINE } from './demo-policy';

/** The line pgveil.yaml holds for the proxy's port, and policies.yaml's upstream port line. */
const LISTEN_LINE = /^(listen: \{ host: 127\.0\.0\.1, port: )(\d+)( \})$/m;
const UPSTREAM_PORT_LINE = /^(\s+upstream:\n\s+host: 127\.0\.0\.1\n\s+port: )(\d+)()$/m;

export interface PortChoice {
  readonly value: number;
  /** Given on the command line (rather than commander's default). */
  readonly given: boolean;
}

/**
 * The port to use: the file's unless a flag says otherwise; a flag that differs is written into the
 * file (so `pgveil serve --config` sees the same), or refused when the file was edited past recognition.
 */
function settlePort(
  file: string,
  flag: string,
  choice: PortChoice,
  line: RegExp,
  key: string,
): { port: number; notice?: string } {
  if (!existsSync(file)) return { port: choice.value };
  const text = readFileSync(file, 'utf8');
  const match = line.exec(text);
  if (!match) {
    if (!choice.given) return { port: choice.value };
    throw new Error(
      `${flag} ${choice.value} cannot be applied: ${file} no longer has the ${key} line the demo wrote; set ${key} there yourself and start again without ${flag}`,
    );
  }
  const current = Number(match[2]);
  if (!choice.given || current === choice.value) return { port: current };
  writeFileSync(
    file,
    text.replace(line, (_all, before: string, _port: string, after: string) => `${before}${choice.value}${after}`),
  );
  return { port: choice.value, notice: `${flag} ${choice.value}: ${key} in ${file} changed from ${current}` };
}

export function settleListenPort(configPath: string, choice: PortChoice): { port: number; notice?: string } {
  return settlePort(configPath, '--port', choice, LISTEN_LINE, 'listen.port');
}

export function settleUpstreamPort(policiesPath: string, choice: PortChoice): { port: number; notice?: string } {
  return settlePort(
    policiesPath,
    '--upstream-port',
    choice,
    UPSTREAM_PORT_LINE,
    "the demo data product's upstream.port",
  );
}

/**
 * A policies.yaml written before tags had to be declared is refused by this pgveil ("tag ... is not
 * declared"). When the file declares no taxonomy at all, the demo's is added at the top; a file
 * that declares one is the user's to keep.
 */
export function upgradePolicies(policiesPath: string): string | undefined {
  if (!existsSync(policiesPath)) return undefined;
  const text = readFileSync(policiesPath, 'utf8');
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch {
    return undefined; // pgveil's loader reports the file's own error, with its line
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || 'tags' in parsed) return undefined;
  writeFileSync(
    policiesPath,
    `# The tag taxonomy, added by a newer pgveil: a tag that a column or a rule names must be declared.\n${DEMO_TAGS_LINE}\n\n${text}`,
  );
  return `${policiesPath} was written by an older pgveil without a tag taxonomy: added "${DEMO_TAGS_LINE}" at its top`;
}
