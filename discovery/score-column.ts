/**
 * From one column's sampled values to proposals: each classifier grades every value, the shares
 * and the column's name give a confidence, and where two classifiers claim the same values the more
 * specific one wins (a JWT is also a high-entropy token; an SSN is also a possible phone number).
 * Values are read here and nowhere else; what leaves is counts.
 */
import { snakeName, typeFamily, VALID, type Classifier, type ValueGrade } from './classifier';

interface Evidence {
  /** Non-null values sampled. */
  readonly sampled: number;
  /** Share of them of the classifier's shape. */
  readonly shapeShare: number;
  /** Share of them that passed its real check (checksum, numbering plan, dictionary). */
  readonly validShare: number;
  readonly nameHint: boolean;
}

export interface Proposal {
  readonly classifier: string;
  readonly tag: string;
  /** 0..1. */
  readonly confidence: number;
  readonly evidence: Evidence;
}

interface Candidate extends Proposal {
  readonly specificity: number;
  readonly valid: Uint8Array;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** The confidence a classifier gives a column, or 0. Values are graded once per classifier. */
function confidenceOf(c: Classifier, hint: boolean, validShare: number, shapeShare: number, sampled: number): number {
  if (sampled === 0) return hint && !c.needsNameHint ? 0.5 : 0;
  if (!c.needsNameHint && validShare >= (c.minShare ?? 0.8) && shapeShare >= (c.minShapeShare ?? 0)) {
    return Math.min(0.99, 0.7 + 0.2 * validShare + (hint ? 0.09 : 0));
  }
  if (hint && shapeShare >= (c.minShareWithHint ?? 0.5) && validShare >= (c.minValidWithHint ?? 0)) {
    return Math.min(0.95, 0.5 + 0.2 * shapeShare + 0.25 * validShare);
  }
  return 0;
}

export interface ColumnInput {
  readonly name: string;
  /** format_type() of the column. */
  readonly type: string;
  /** Non-null sampled values, as text. */
  readonly values: readonly string[];
}

/** Proposals at or above `minConfidence`, the most confident first. */
export function scoreColumn(column: ColumnInput, classifiers: readonly Classifier[], minConfidence = 0.6): Proposal[] {
  const name = snakeName(column.name);
  const family = typeFamily(column.type);
  const n = column.values.length;
  const candidates: Candidate[] = [];
  for (const c of classifiers) {
    if (!(c.types ?? ['text']).includes(family)) continue;
    if (c.nameVeto?.test(name)) continue;
    const hint = c.nameHint?.test(name) ?? false;
    if (c.needsNameHint && !hint) continue;
    const valid = new Uint8Array(n);
    let validCount = 0;
    let shapeCount = 0;
    // Stop grading once neither way to flag the column can still be reached: most classifiers
    // meet a column they have nothing to do with, and know it after a few values.
    const needValid = c.needsNameHint ? Infinity : (c.minShare ?? 0.8) * n;
    const needShape = hint ? (c.minShareWithHint ?? 0.5) * n : Infinity;
    let hopeless = false;
    for (let i = 0; i < n; i++) {
      const grade: ValueGrade = c.grade(column.values[i]!);
      if (grade === VALID) {
        valid[i] = 1;
        validCount++;
      }
      if (grade !== 0) shapeCount++;
      const left = n - i - 1;
      if (validCount + left < needValid && shapeCount + left < needShape) {
        hopeless = true;
        break;
      }
    }
    if (hopeless) continue;
    const validShare = n === 0 ? 0 : validCount / n;
    const shapeShare = n === 0 ? 0 : shapeCount / n;
    const confidence = confidenceOf(c, hint, validShare, shapeShare, n);
    if (confidence < minConfidence) continue;
    candidates.push({
      classifier: c.id,
      tag: c.tag,
      confidence: round(confidence),
      evidence: { sampled: n, shapeShare: round(shapeShare), validShare: round(validShare), nameHint: hint },
      specificity: c.specificity,
      valid,
    });
  }
  return suppressOverlaps(candidates).map(({ classifier, tag, confidence, evidence }) => ({
    classifier,
    tag,
    confidence,
    evidence,
  }));
}

/**
 * A candidate whose valid values are mostly (80%) valid for a more specific one too is the same
 * values seen twice: only the more specific stays. A name-hinted candidate is kept over an unhinted
 * more specific one (a `phone` column of numbers that look like SSNs is a phone column).
 */
function suppressOverlaps(candidates: Candidate[]): Candidate[] {
  const kept = candidates.filter((c) => {
    const own = c.valid.reduce((s, x) => s + x, 0);
    return !candidates.some((other) => {
      if (other === c || other.tag === c.tag) return false;
      if (c.evidence.nameHint && !other.evidence.nameHint) return false;
      // Two readings of the same values: the one the column's name names wins.
      if (!c.evidence.nameHint && other.evidence.nameHint) return true;
      const stronger = other.specificity > c.specificity || (!c.evidence.nameHint && other.evidence.nameHint);
      if (!stronger) return false;
      if (own === 0) return other.evidence.nameHint || other.confidence > c.confidence;
      let shared = 0;
      for (let i = 0; i < c.valid.length; i++) if (c.valid[i] && other.valid[i]) shared++;
      return shared / own >= 0.8;
    });
  });
  // One tag once: two classifiers proposing the same tag (IPv4, IPv6) keep the most confident.
  const byTag = new Map<string, Candidate>();
  for (const c of kept) if ((byTag.get(c.tag)?.confidence ?? -1) < c.confidence) byTag.set(c.tag, c);
  return [...byTag.values()].sort((a, b) => b.confidence - a.confidence || b.specificity - a.specificity);
}
