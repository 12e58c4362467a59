/**
 * Free text (notes, comments, messages) that carries sensitive values inside it: e-mail addresses,
 * international phone numbers, SSNs, card numbers that pass Luhn and an issuer range, IBANs.
 */
import validator from 'validator';
import { isValidPhoneNumber } from 'libphonenumber-js';
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';

const EMBEDDED: ReadonlyArray<(text: string) => boolean> = [
  (t) =>
    (t.match(/[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[a-z]{2,}/gi) ?? []).some((m) =>
      validator.isEmail(m.replace(/[.]+$/, '')),
    ),
  (t) => (t.match(/\+\d[\d ().-]{7,18}\d/g) ?? []).some((m) => isValidPhoneNumber(m)),
  (t) => /(^|\D)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(\D|$)/.test(t),
  (t) =>
    (t.match(/(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,4}(?!\d)/g) ?? []).some((m) =>
      validator.isCreditCard(m.replace(/[ -]/g, '')),
    ),
  (t) =>
    (t.match(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b/g) ?? []).some((m) =>
      validator.isIBAN(m.replace(/ /g, '')),
    ),
];

export const freeText: Classifier = {
  id: 'free_text_pii',
  tag: 'pii.free_text',
  description: 'free text (several words) that contains e-mail addresses, phone numbers, SSNs, card numbers or IBANs',
  nameHint: nameWords(
    'note|notes|comment|comments|remark|remarks|description|message|body|text|memo|feedback|details|free_text|observations|bemerkung|kommentar|commentaire|comentario|commento|nota|notas',
  ),
  minShare: 0.1,
  minShapeShare: 0.8,
  minShareWithHint: 0.8,
  minValidWithHint: 0.05,
  specificity: 5,
  types: ['text', 'json'],
  grade(v) {
    if (v.length < 20 || v.split(/\s+/).length < 4) return NONE;
    return EMBEDDED.some((found) => found(v)) ? VALID : SHAPE;
  },
};
