/**
 * Loads one or many policy files into one immutable bundle: a PolicySnapshot (version = content
 * hash), the data products with their upstreams, and the users. A domain policy may only add
 * restrictions: one that allows what a global policy restricts is a load error naming both rules.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import schema from './policy-schema.json';
import type { PolicySnapshot } from './decision';
import type { DataProductConfig, PolicyFile, PolicyRule, UserConfig } from './policy-model';
import { createPolicySnapshot, type PolicySet } from './decision-engine';
import { tagMatches } from './tags';
import { compileSchema, parseValidatedYamlWithLines, ValidationError } from './yaml-validation';
import { TagTaxonomy, undeclaredTags } from './tag-taxonomy';
import { checkPorts } from './port-checks';

export interface PolicyBundle {
  readonly version: string;
  readonly snapshot: PolicySnapshot;
  readonly dataProducts: ReadonlyMap<string, DataProductConfig>;
  readonly users: ReadonlyMap<string, UserConfig>;
  readonly set: PolicySet;
}

/** One policy file's path (absolute) and text, as read at one moment. */
export interface PolicySource {
  readonly path: string;
  readonly text: string;
}

const validate = compileSchema<PolicyFile>(schema);

export function loadPolicyFiles(paths: readonly string[], now?: () => Date): PolicyBundle {
  return buildPolicyBundle(readPolicySources(paths), now);
}

/** Reads every file; a file that cannot be read is an error, never an empty policy. */
export function readPolicySources(paths: readonly string[]): PolicySource[] {
  return paths.map((p) => {
    const path = resolve(p);
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (error) {
      throw new ValidationError(`cannot read policy file "${path}": ${(error as Error).message}`);
    }
  });
}

/**
 * The version a set of sources loads as: a hash of each file's name and text, in order. Not of the
 * directory: replicas that mount the same files at different paths run, and audit, one version.
 */
export function policyVersionOf(sources: readonly PolicySource[]): string {
  const hash = createHash('sha256');
  for (const { path, text } of sources) hash.update(basename(path)).update('\0').update(text).update('\0');
  return hash.digest('hex').slice(0, 12);
}

export function buildPolicyBundle(sources: readonly PolicySource[], now?: () => Date): PolicyBundle {
  if (sources.length === 0) throw new ValidationError('no policy files are configured');
  const parsed = sources.map(({ path, text }) => ({ path, parsed: parseValidatedYamlWithLines(path, text, validate) }));
  const files = parsed.map(({ path, parsed: p }) => resolveFiles(p.value, dirname(path)));
  const taxonomy = new TagTaxonomy(new Set(files.flatMap((f) => f.tags ?? [])));
  const undeclared = undeclaredTags(parsed, taxonomy);
  if (undeclared.length > 0) throw new ValidationError(undeclared.join('\n'));
  const set: PolicySet = {
    dataProducts: files.flatMap((f) => f.dataProducts ?? []),
    globalPolicies: files.flatMap((f) => f.globalPolicies ?? []),
    domainPolicies: files.flatMap((f) => f.domainPolicies ?? []),
    subscriptions: files.flatMap((f) => f.subscriptions ?? []),
    taxonomy,
  };
  const users = files.flatMap((f) => f.users ?? []);
  unique(
    set.dataProducts.map((p) => p.name),
    'data product',
  );
  unique(
    [...set.globalPolicies, ...set.domainPolicies].map((r) => r.id),
    'rule id',
  );
  unique(
    users.map((u) => u.name),
    'user',
  );
  const domains = new Set(set.dataProducts.map((p) => p.domain));
  for (const rule of set.domainPolicies) {
    if (!domains.has(rule.domain))
      throw new ValidationError(
        `domain policy "${rule.id}" names domain "${rule.domain}", which no data product declares`,
      );
  }
  checkRulesOrUnrestricted(
    set,
    parsed.filter((f) => f.parsed.value.unrestricted === true).map((f) => f.path),
  );
  checkDomainsOnlyRestrict(set);
  checkPorts(set.dataProducts);
  const version = policyVersionOf(sources);
  return {
    version,
    snapshot: createPolicySnapshot(set, version, now),
    dataProducts: new Map(set.dataProducts.map((p) => [p.name, p])),
    users: new Map(users.map((u) => [u.name, u])),
    set,
  };
}

/**
 * A policy set without a single rule is almost always a mistake (a file emptied by accident, rules
 * moved to a file not listed): it must say `unrestricted: true` to load, and may not say so while
 * it has rules.
 */
function checkRulesOrUnrestricted(set: PolicySet, unrestrictedIn: readonly string[]): void {
  const rules = set.globalPolicies.length + set.domainPolicies.length;
  if (rules === 0 && unrestrictedIn.length === 0) {
    throw new ValidationError(
      'the policy files declare no global or domain rule: every analyst would see raw values. Add "unrestricted: true" to a policy file if that is intended',
    );
  }
  if (rules > 0 && unrestrictedIn.length > 0) {
    throw new ValidationError(
      `${unrestrictedIn[0]!}: "unrestricted: true" but the policy files declare ${rules} rule(s): remove one or the other`,
    );
  }
}

function unique(values: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new ValidationError(`${what} "${v}" is declared more than once`);
    seen.add(v);
  }
}

/** Relative `passwordFile`s are relative to the policy file that names them. */
function resolveFiles(file: PolicyFile, base: string): PolicyFile {
  return {
    ...file,
    dataProducts: file.dataProducts?.map((p) =>
      p.upstream.passwordFile
        ? { ...p, upstream: { ...p.upstream, passwordFile: resolve(base, p.upstream.passwordFile) } }
        : p,
    ),
  };
}

/** A global policy is a floor: no domain rule may allow (or exempt) what a global rule restricts. */
function checkDomainsOnlyRestrict(set: PolicySet): void {
  for (const domainRule of set.domainPolicies) {
    for (const columnRule of domainRule.columns ?? []) {
      if (columnRule.action.kind !== 'allow') continue;
      const loosened = set.globalPolicies.find((g) => overlaps(g, columnRule.tags ?? [], columnRule.columns ?? []));
      if (loosened) {
        throw new ValidationError(
          `domain policy "${domainRule.id}" allows columns that global policy "${loosened.id}" restricts: a domain policy may only add restrictions`,
        );
      }
    }
  }
}

function overlaps(global: PolicyRule, tags: readonly string[], columns: readonly string[]): boolean {
  return (global.columns ?? []).some(
    (g) =>
      g.action.kind !== 'allow' &&
      ((g.tags ?? []).some((gt) => tags.some((t) => tagMatches(gt, t) || tagMatches(t, gt))) ||
        (g.columns ?? []).some((c) => columns.includes(c))),
  );
}

export function upstreamPassword(product: DataProductConfig): string | undefined {
  const u = product.upstream;
  if (u.passwordFile) return readFileSync(u.passwordFile, 'utf8').trim();
  if (u.passwordEnv) return process.env[u.passwordEnv];
  return u.password;
}
