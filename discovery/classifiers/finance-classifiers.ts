/**
 * Card numbers, IBANs, BICs and VAT ids (validator: Luhn and issuer ranges, ISO 13616, ISO 9362,
 * national VAT rules).
 */
import validator from 'validator';
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';

const CARD_SHAPE = /^\d{4}([ -]?\d{4}){2}[ -]?\d{1,7}$|^\d{4}[ -]?\d{6}[ -]?\d{4,5}$|^\d{13,19}$/;

export const creditCard: Classifier = {
  id: 'credit_card',
  tag: 'finance.card',
  description:
    'payment card numbers (Luhn checksum and issuer ranges: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay; validator.isCreditCard)',
  nameHint: nameWords(
    'card|card_number|card_no|cc|cc_number|ccnum|credit_card|pan|kreditkarte|carte|tarjeta|cartao|carta',
  ),
  nameVeto: nameWords('gift|loyalty|id_card|sim|library'),
  specificity: 55,
  types: ['text', 'number'],
  grade: (v) => (!CARD_SHAPE.test(v) ? NONE : validator.isCreditCard(v.replace(/[ -]/g, '')) ? VALID : SHAPE),
};

export const iban: Classifier = {
  id: 'iban',
  tag: 'finance.iban',
  description: 'IBANs (country length and mod-97 check, validator.isIBAN)',
  nameHint: nameWords('iban|bank_account|account_number|konto|compte|cuenta|conta'),
  specificity: 70,
  grade(v) {
    const compact = v.replace(/\s/g, '').toUpperCase();
    return !/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(compact) ? NONE : validator.isIBAN(compact) ? VALID : SHAPE;
  },
};

export const bic: Classifier = {
  id: 'bic',
  tag: 'finance.bic',
  description: 'BIC / SWIFT codes (ISO 9362 with a valid country, validator.isBIC)',
  nameHint: nameWords('bic|swift|swift_code|bic_code'),
  specificity: 35,
  minShare: 0.9,
  grade: (v) => (!/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(v) ? NONE : validator.isBIC(v) ? VALID : SHAPE),
};

/** Countries validator.isVAT knows, by the prefix a VAT id carries. */
const VAT_COUNTRIES = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'EL',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  'GB',
  'CH',
  'NO',
]);

export const vatId: Classifier = {
  id: 'vat_id',
  tag: 'finance.vat_id',
  description: 'EU, UK, Swiss and Norwegian VAT ids (national formats, validator.isVAT)',
  nameHint: nameWords('vat|vat_id|vat_number|ust_id|ustid|tva|iva|btw|mwst'),
  specificity: 65,
  grade(v) {
    const compact = v.replace(/[\s.-]/g, '').toUpperCase();
    if (!/^[A-Z]{2}[0-9A-Z]{8,12}(MWST|TVA|IVA)?$/.test(compact)) return NONE;
    const country = compact.slice(0, 2);
    if (!VAT_COUNTRIES.has(country)) return NONE;
    try {
      return validator.isVAT(compact, country as Parameters<typeof validator.isVAT>[1]) ? VALID : SHAPE;
    } catch {
      return SHAPE;
    }
  },
};
