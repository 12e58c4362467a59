/**
 * Classifiers an organisation declares in its policy files (`discovery.classifiers`): a value
 * pattern, a dictionary, a column-name pattern, or several of these, each proposing a tag. They
 * are read from the same files the policy engine loads, after it has validated them.
 */
import { parse } from 'yaml';
import { readPolicySources } from '../policies';
import { ValidationError } from '../policies';
import type { CustomClassifierConfig, PolicyFile } from '../policies';
import { NONE, VALID, type Classifier } from './classifier';
import { fold } from './classifiers/name-dictionary';

/** `source` is what the file says (quoted in errors); `pattern` what is compiled from it. */
function compile(source: string, what: string, pattern = source): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch (error) {
    throw new ValidationError(`${what}: invalid regular expression "${source}"`);
  }
}

function customClassifier(config: CustomClassifierConfig): Classifier {
  const where = `discovery classifier "${config.id}"`;
  const pattern = config.pattern !== undefined ? compile(config.pattern, where, `^(?:${config.pattern})$`) : undefined;
  const dictionary = config.dictionary ? new Set(config.dictionary.map((w) => fold(w.trim()))) : undefined;
  const name = config.columnName !== undefined ? compile(config.columnName, where) : undefined;
  const valueRule = pattern !== undefined || dictionary !== undefined;
  return {
    id: config.id,
    tag: config.tag,
    description: config.description ?? `custom classifier ${config.id}`,
    ...(name ? { nameHint: name } : {}),
    // A name-only classifier proposes on the name; its values need only exist.
    ...(valueRule ? {} : { needsNameHint: true }),
    ...(config.minShare !== undefined ? { minShare: config.minShare } : {}),
    specificity: 100,
    types: ['text', 'number', 'date', 'network', 'uuid', 'json', 'geometry'],
    grade(v) {
      if (!valueRule) return VALID;
      if (pattern?.test(v)) return VALID;
      if (dictionary?.has(fold(v.trim()))) return VALID;
      return NONE;
    },
  };
}

/** The custom classifiers of every policy file; ids must be unique and differ from the built-in ones. */
export function customClassifiersOf(policyPaths: readonly string[], builtinIds: ReadonlySet<string>): Classifier[] {
  const out: Classifier[] = [];
  for (const source of readPolicySources(policyPaths)) {
    const file = parse(source.text) as PolicyFile | null;
    for (const config of file?.discovery?.classifiers ?? []) {
      if (builtinIds.has(config.id) || out.some((c) => c.id === config.id))
        throw new ValidationError(
          `${source.path}: discovery classifier "${config.id}" is declared more than once or shadows a built-in one`,
        );
      out.push(customClassifier(config));
    }
  }
  return out;
}
