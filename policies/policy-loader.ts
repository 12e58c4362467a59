/**
 * Loads one or many policy files into one immutable bundle: a PolicySnapshot (version = content
 * hash), the data products with their upstreams, and the users. A domain policy may only add
 * restrictions: one that allows what a global policy restricts is a load error naming both rules.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import schema from './policy-schema.json';
import type { PolicySnapshot } from './decision';
import type { DataProductConfig, PolicyFile, PolicyRule, UserConfig } from './policy-model';
import { createPolicySnapshot, type PolicySet } from './decision-engine';
import { tagMatches } from './tags';
import { compileSchema, parseValidatedYaml, ValidationError } from './yaml-validation';

export interface PolicyBundle {
  readonly version: string;
  readonly snapshot: PolicySnapshot;
  readonly dataProducts: ReadonlyMap<string, DataProductConfig>;
  readonly users: ReadonlyMap<string, UserConfig>;
  readonly set: PolicySet;
}

const validate = compileSchema<PolicyFile>(schema);

export function loadPolicyFiles(paths: readonly string[], now?: () => Date): PolicyBundle {
  const hash = createHash('sha256');
  const files = paths.map((p) => {
    const path = resolve(p);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ValidationError(`cannot read policy file "${path}": ${(error as Error).message}`);
    }
    hash.update(path).update('\0').update(text).update('\0');
    return { path, file: resolveFiles(parseValidatedYaml(path, text, validate), dirname(path)) };
  });
  const set: PolicySet = {
    dataProducts: files.flatMap((f) => f.file.dataProducts ?? []),
    globalPolicies: files.flatMap((f) => f.file.globalPolicies ?? []),
    domainPolicies: files.flatMap((f) => f.file.domainPolicies ?? []),
    subscriptions: files.flatMap((f) => f.file.subscriptions ?? []),
  };
  const users = files.flatMap((f) => f.file.users ?? []);
  unique(set.dataProducts.map((p) => p.name), 'data product');
  unique([...set.globalPolicies, ...set.domainPolicies].map((r) => r.id), 'rule id');
  unique(users.map((u) => u.name), 'user');
  const domains = new Set(set.dataProducts.map((p) => p.domain));
  for (const rule of set.domainPolicies) {
    if (!domains.has(rule.domain)) throw new ValidationError(`domain policy "${rule.id}" names domain "${rule.domain}", which no data product declares`);
  }
  checkDomainsOnlyRestrict(set);
  const version = hash.digest('hex').slice(0, 12);
  return {
    version,
    snapshot: createPolicySnapshot(set, version, now),
    dataProducts: new Map(set.dataProducts.map((p) => [p.name, p])),
    users: new Map(users.map((u) => [u.name, u])),
    set,
  };
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
    dataProducts: file.dataProducts?.map((p) => (p.upstream.passwordFile ? { ...p, upstream: { ...p.upstream, passwordFile: resolve(base, p.upstream.passwordFile) } } : p)),
  };
}

/** A global policy is a floor: no domain rule may allow (or exempt) what a global rule restricts. */
function checkDomainsOnlyRestrict(set: PolicySet): void {
  for (const domainRule of set.domainPolicies) {
    for (const columnRule of domainRule.columns ?? []) {
      if (columnRule.action.kind !== 'allow') continue;
      const loosened = set.globalPolicies.find((g) => overlaps(g, columnRule.tags ?? [], columnRule.columns ?? []));
      if (loosened) {
        throw new ValidationError(`domain policy "${domainRule.id}" allows columns that global policy "${loosened.id}" restricts: a domain policy may only add restrictions`);
      }
    }
  }
}

function overlaps(global: PolicyRule, tags: readonly string[], columns: readonly string[]): boolean {
  return (global.columns ?? []).some(
    (g) =>
      g.action.kind !== 'allow' &&
      ((g.tags ?? []).some((gt) => tags.some((t) => tagMatches(gt, t) || tagMatches(t, gt))) || (g.columns ?? []).some((c) => columns.includes(c))),
  );
}

export function upstreamPassword(product: DataProductConfig): string | undefined {
  const u = product.upstream;
  if (u.passwordFile) return readFileSync(u.passwordFile, 'utf8').trim();
  if (u.passwordEnv) return process.env[u.passwordEnv];
  return u.password;
}
