/**
 * National identifiers: the US SSN and the national numbers of several countries, each checked by
 * its own rule (check letters and digits, reserved ranges) through validator where it has one.
 */
import validator from 'validator';
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';

const NATIONAL_ID_HINT =
  'national_id|national_number|id_number|identity|identity_number|citizen_id|personal_id|personal_number|nin';

export const usSsn: Classifier = {
  id: 'us_ssn',
  tag: 'pii.ssn',
  description: 'US social security numbers (area, group and serial ranges the SSA never issues excluded)',
  nameHint: nameWords('ssn|social_security|social_security_number|ss_number|sozialversicherungsnummer'),
  specificity: 60,
  types: ['text', 'number'],
  grade(v) {
    const m = /^(\d{3})([- ]?)(\d{2})\2(\d{4})$/.exec(v);
    if (!m) return NONE;
    const [area, group, serial] = [m[1]!, m[3]!, m[4]!];
    if (area === '000' || area === '666' || area.startsWith('9') || group === '00' || serial === '0000') return SHAPE;
    // Nine bare digits are any id; the dashed form is the SSN's own.
    return m[2] === '' ? SHAPE : VALID;
  },
};

export const ukNino: Classifier = {
  id: 'uk_nino',
  tag: 'pii.national_id',
  description: 'UK national insurance numbers (prefix and suffix letters HMRC allocates)',
  nameHint: nameWords(`nino|ni_number|national_insurance|national_insurance_number|${NATIONAL_ID_HINT}`),
  specificity: 58,
  grade(v) {
    const compact = v.replace(/\s/g, '').toUpperCase();
    if (!/^[A-Z]{2}\d{6}[A-Z]$/.test(compact)) return NONE;
    if (!/^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(compact) || /^(BG|GB|KN|NK|NT|TN|ZZ)/.test(compact))
      return SHAPE;
    return VALID;
  },
};

export const esDni: Classifier = {
  id: 'es_dni',
  tag: 'pii.national_id',
  description: 'Spanish DNI and NIE numbers (check letter, validator.isIdentityCard)',
  nameHint: nameWords(`dni|nie|nif|documento|${NATIONAL_ID_HINT}`),
  specificity: 58,
  grade: (v) =>
    !/^[XYZ]?\d{7,8}-?[A-Z]$/i.test(v) ? NONE : validator.isIdentityCard(v.toUpperCase(), 'ES') ? VALID : SHAPE,
};

export const itCodiceFiscale: Classifier = {
  id: 'it_codice_fiscale',
  tag: 'pii.national_id',
  description: 'Italian codici fiscali (name letters, date and check character, validator.isTaxID it-IT)',
  nameHint: nameWords(`codice_fiscale|cf|tax_code|${NATIONAL_ID_HINT}`),
  specificity: 58,
  grade: (v) =>
    !/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/i.test(v)
      ? NONE
      : validator.isTaxID(v.toUpperCase(), 'it-IT')
        ? VALID
        : SHAPE,
};

export const brCpf: Classifier = {
  id: 'br_cpf',
  tag: 'pii.national_id',
  description: 'Brazilian CPF numbers (two check digits, validator.isTaxID pt-BR)',
  nameHint: nameWords(`cpf|${NATIONAL_ID_HINT}`),
  specificity: 58,
  types: ['text', 'number'],
  grade(v) {
    if (!/^\d{3}\.?\d{3}\.?\d{3}-?\d{2}$/.test(v)) return NONE;
    if (!validator.isTaxID(v, 'pt-BR')) return SHAPE;
    // Eleven bare digits pass one check in a hundred by chance; the punctuated form is the CPF's.
    return /^\d{3}\.\d{3}\.\d{3}-\d{2}$/.test(v) ? VALID : SHAPE;
  },
};

/** INSEE number: sex, year, month, department (2A/2B for Corsica), commune, order, key = 97 - n mod 97. */
export const frNir: Classifier = {
  id: 'fr_nir',
  tag: 'pii.national_id',
  description: 'French social security numbers (NIR/INSEE, key mod 97)',
  nameHint: nameWords(`nir|insee|numero_securite_sociale|securite_sociale|${NATIONAL_ID_HINT}`),
  specificity: 58,
  grade(v) {
    const compact = v.replace(/\s/g, '').toUpperCase();
    const m = /^([12])(\d{2})(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2A|2B)(\d{3})(\d{3})(\d{2})$/.exec(compact);
    if (!m) return NONE;
    const body = `${m[1]}${m[2]}${m[3]}${m[4]!.replace('2A', '19').replace('2B', '18')}${m[5]}${m[6]}`;
    const key = 97 - Number(BigInt(body) % 97n);
    return key === Number(m[7]) ? VALID : SHAPE;
  },
};

/** Dutch BSN: nine digits passing the "elfproef" (weights 9..2 and -1). */
export const nlBsn: Classifier = {
  id: 'nl_bsn',
  tag: 'pii.national_id',
  description: 'Dutch citizen service numbers (BSN, eleven test)',
  nameHint: nameWords(`bsn|burgerservicenummer|sofinummer|${NATIONAL_ID_HINT}`),
  specificity: 57,
  // Nine digits pass the eleven test one time in eleven: only a name makes a column of them a BSN.
  needsNameHint: true,
  types: ['text', 'number'],
  grade(v) {
    if (!/^\d{9}$/.test(v)) return NONE;
    const digits = [...v].map(Number);
    const sum = digits.slice(0, 8).reduce((s, d, i) => s + d * (9 - i), 0) - digits[8]!;
    return sum % 11 === 0 ? VALID : SHAPE;
  },
};

export const inAadhaar: Classifier = {
  id: 'in_aadhaar',
  tag: 'pii.national_id',
  description: 'Indian Aadhaar numbers (Verhoeff check digit, validator.isIdentityCard)',
  nameHint: nameWords(`aadhaar|aadhar|uid|${NATIONAL_ID_HINT}`),
  specificity: 57,
  types: ['text', 'number'],
  grade(v) {
    if (!/^[2-9]\d{3} ?\d{4} ?\d{4}$/.test(v)) return NONE;
    if (!validator.isIdentityCard(v.replace(/\s/g, ''), 'IN')) return SHAPE;
    return /\s/.test(v) ? VALID : SHAPE;
  },
};

export const deTaxId: Classifier = {
  id: 'de_tax_id',
  tag: 'pii.national_id',
  description: 'German tax identification numbers (Steuer-ID, check digit, validator.isTaxID de-DE)',
  nameHint: nameWords(`steuer_id|steuerid|steuer_identifikationsnummer|idnr|tin|tax_id|${NATIONAL_ID_HINT}`),
  specificity: 56,
  needsNameHint: true,
  types: ['text', 'number'],
  grade: (v) => (!/^\d{11}$/.test(v) ? NONE : validator.isTaxID(v, 'de-DE') ? VALID : SHAPE),
};

const PASSPORT_COUNTRIES = [
  'US',
  'GB',
  'DE',
  'FR',
  'ES',
  'IT',
  'BR',
  'NL',
  'CA',
  'AU',
  'IN',
  'JP',
  'MX',
  'PT',
  'IE',
  'CH',
  'AT',
  'BE',
  'PL',
  'SE',
];

export const passport: Classifier = {
  id: 'passport',
  tag: 'pii.passport',
  description:
    'passport numbers (the formats of 20 countries, validator.isPassportNumber); a column needs a passport name',
  nameHint: nameWords('passport|passport_no|passport_number|passeport|reisepass|pasaporte|passaporte|passaporto'),
  // Passport formats are six to nine characters of anything: without the name, an order code is one.
  needsNameHint: true,
  specificity: 30,
  grade: (v) =>
    !/^[A-Z0-9]{6,10}$/i.test(v)
      ? NONE
      : PASSPORT_COUNTRIES.some((c) => validator.isPassportNumber(v.toUpperCase(), c))
        ? VALID
        : SHAPE,
};

export const usEin: Classifier = {
  id: 'us_ein',
  tag: 'finance.tax_id',
  description: 'US employer identification numbers (IRS campus prefixes, validator.isTaxID en-US)',
  nameHint: nameWords('ein|tax_id|taxid|employer_id|fein|tin'),
  specificity: 55,
  grade: (v) => (!/^\d{2}-\d{7}$/.test(v) ? NONE : validator.isTaxID(v, 'en-US') ? VALID : SHAPE),
};
