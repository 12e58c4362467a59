/**
 * The labelled data set discovery is measured on: columns of generated values (faker, eight
 * locales) labelled with the classifier that should flag them, under hinting and neutral column
 * names, and look-alikes that no classifier may flag (order numbers shaped like phone numbers,
 * ids that pass Luhn by chance, hex digests, dates that are not birth dates, product codes shaped
 * like postal codes, product names, sizes, statuses). Deterministic for a seed.
 */
import {
  fakerDE,
  fakerEN_GB,
  fakerEN_US,
  fakerES,
  fakerFR,
  fakerIT,
  fakerNL,
  fakerPT_BR,
  type Faker,
} from '@faker-js/faker';
import validator from 'validator';

export interface LabelledColumn {
  readonly name: string;
  readonly type: string;
  readonly values: readonly string[];
  /** The classifier that should flag it; null for a look-alike or neutral column. */
  readonly expected: string | null;
  readonly locale: string;
}

const LOCALES: ReadonlyArray<readonly [string, Faker]> = [
  ['en_US', fakerEN_US],
  ['de', fakerDE],
  ['fr', fakerFR],
  ['es', fakerES],
  ['it', fakerIT],
  ['pt_BR', fakerPT_BR],
  ['en_GB', fakerEN_GB],
  ['nl', fakerNL],
];

type Gen = (f: Faker, locale: string) => string;

const digits = (f: Faker, n: number): string => f.string.numeric({ length: n, allowLeadingZeros: true });
const pick = <T>(f: Faker, list: readonly T[]): T => list[f.number.int({ min: 0, max: list.length - 1 })]!;
const until = (f: Faker, make: (f: Faker) => string, ok: (v: string) => boolean): string => {
  for (let i = 0; i < 100_000; i++) {
    const v = make(f);
    if (ok(v)) return v;
  }
  throw new Error('generator gave up');
};

function ssn(f: Faker): string {
  let area = f.number.int({ min: 1, max: 899 });
  if (area === 666) area = 667;
  return `${String(area).padStart(3, '0')}-${String(f.number.int({ min: 1, max: 99 })).padStart(2, '0')}-${String(f.number.int({ min: 1, max: 9999 })).padStart(4, '0')}`;
}

function nino(f: Faker): string {
  const first = 'ABCEGHJKLMNOPRSTWXYZ';
  const second = 'ABCEGHJKLMNPRSTWXYZ';
  return until(
    f,
    (g) =>
      `${pick(g, [...first])}${pick(g, [...second])} ${digits(g, 2)} ${digits(g, 2)} ${digits(g, 2)} ${pick(g, ['A', 'B', 'C', 'D'])}`,
    (v) => !/^(BG|GB|KN|NK|NT|TN|ZZ)/.test(v),
  );
}

function dni(f: Faker): string {
  const n = f.number.int({ min: 10_000_000, max: 99_999_999 });
  return `${n}${'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}`;
}

const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
function codiceFiscale(f: Faker): string {
  // Consonants, then vowels, then X: how a name becomes its three letters.
  const letters = (name: string): string => {
    const plain = name
      .normalize('NFD')
      .replace(/[^A-Za-z]/g, '')
      .toUpperCase();
    return `${plain.replace(/[AEIOU]/g, '')}${plain.replace(/[^AEIOU]/g, '')}XXX`.slice(0, 3);
  };
  const body = `${letters(f.person.lastName())}${letters(f.person.firstName())}${digits(f, 2)}${pick(f, [...'ABCDEHLMPRST'])}${String(f.number.int({ min: 1, max: 28 }) + pick(f, [0, 40])).padStart(2, '0')}${pick(f, [...'ABCDEFGHILMZ'])}${digits(f, 3)}`;
  let sum = 0;
  [...body].forEach((ch, i) => {
    const value = /\d/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 65;
    sum += i % 2 === 0 ? CF_ODD[value]! : value;
  });
  return `${body}${String.fromCharCode(65 + (sum % 26))}`;
}

function cpf(f: Faker): string {
  const d = [...digits(f, 9)].map(Number);
  const check = (n: number[]): number => {
    const s = n.reduce((acc, x, i) => acc + x * (n.length + 1 - i), 0);
    const r = (s * 10) % 11;
    return r === 10 ? 0 : r;
  };
  d.push(check(d));
  d.push(check(d));
  const s = d.join('');
  return `${s.slice(0, 3)}.${s.slice(3, 6)}.${s.slice(6, 9)}-${s.slice(9)}`;
}

function nir(f: Faker): string {
  const body = `${f.number.int({ min: 1, max: 2 })}${digits(f, 2)}${String(f.number.int({ min: 1, max: 12 })).padStart(2, '0')}${String(f.number.int({ min: 1, max: 95 })).padStart(2, '0')}${digits(f, 3)}${digits(f, 3)}`;
  const key = 97 - Number(BigInt(body) % 97n);
  return `${body.slice(0, 1)} ${body.slice(1, 3)} ${body.slice(3, 5)} ${body.slice(5, 7)} ${body.slice(7, 10)} ${body.slice(10)} ${String(key).padStart(2, '0')}`;
}

const bsn = (f: Faker): string =>
  until(
    f,
    (g) => digits(g, 9),
    (v) =>
      v[0] !== '0' &&
      [...v].slice(0, 8).reduce((s, d, i) => s + Number(d) * (9 - i), 0) % 11 === Number(v[8]) % 11 &&
      ([...v].slice(0, 8).reduce((s, d, i) => s + Number(d) * (9 - i), 0) - Number(v[8])) % 11 === 0,
  );
const aadhaar = (f: Faker): string =>
  until(
    f,
    (g) => `${g.number.int({ min: 2, max: 9 })}${digits(g, 11)}`,
    (v) => validator.isIdentityCard(v, 'IN'),
  ).replace(/(\d{4})(\d{4})(\d{4})/, '$1 $2 $3');
const steuerId = (f: Faker): string =>
  until(
    f,
    (g) => `${g.number.int({ min: 1, max: 9 })}${digits(g, 10)}`,
    (v) => validator.isTaxID(v, 'de-DE'),
  );
const ein = (f: Faker): string =>
  `${pick(f, ['10', '12', '20', '27', '35', '46', '52', '61', '71', '84', '91', '98'])}-${digits(f, 7)}`;
const vat = (f: Faker): string =>
  pick(f, [
    () => `DE${f.number.int({ min: 100_000_000, max: 999_999_999 })}`,
    () => `FR${f.string.alphanumeric({ length: 2, casing: 'upper' })}${digits(f, 9)}`,
    () => `NL${digits(f, 9)}B${digits(f, 2)}`,
    () => `AT U${digits(f, 8)}`.replace(' ', ''),
    () => `IT${digits(f, 11)}`,
  ])();
const passportNumber = (f: Faker, locale: string): string =>
  ({
    en_US: () => digits(f, 9),
    de: () => `C${f.string.fromCharacters('CFGHJKLMNPRTVWXYZ0123456789', 8)}`,
    fr: () => `${digits(f, 2)}${f.string.alpha({ length: 2, casing: 'upper' })}${digits(f, 5)}`,
    es: () => `${f.string.alpha({ length: 3, casing: 'upper' })}${digits(f, 6)}`,
    it: () => `${f.string.alpha({ length: 2, casing: 'upper' })}${digits(f, 7)}`,
    pt_BR: () => `${f.string.alpha({ length: 2, casing: 'upper' })}${digits(f, 6)}`,
    en_GB: () => digits(f, 9),
    nl: () =>
      `${f.string.alpha({ length: 2, casing: 'upper' })}${f.string.alphanumeric({ length: 6, casing: 'upper' })}${digits(f, 1)}`,
  })[locale]!();
const b64 = (f: Faker, n: number): string =>
  f.string.fromCharacters('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', n);
const jwtToken = (f: Faker): string => {
  const header = Buffer.from(JSON.stringify({ alg: pick(f, ['HS256', 'RS256', 'ES256']), typ: 'JWT' })).toString(
    'base64url',
  );
  const payload = Buffer.from(
    JSON.stringify({ sub: f.string.uuid(), iat: f.number.int({ min: 1.6e9, max: 1.8e9 }) }),
  ).toString('base64url');
  return `${header}.${payload}.${b64(f, 43)}`;
};
const apiKeyValue = (f: Faker): string =>
  pick(f, [
    () => `AKIA${f.string.fromCharacters('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
    () => `sk_live_${f.string.alphanumeric(24)}`,
    () => `ghp_${f.string.alphanumeric(36)}`,
    () => `xoxb-${digits(f, 12)}-${digits(f, 12)}-${f.string.alphanumeric(24)}`,
    () => `AIza${b64(f, 35)}`,
    () => `glpat-${b64(f, 20)}`,
    () =>
      until(
        f,
        (g) => g.string.alphanumeric(40),
        (v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v),
      ),
  ])();
const passwordHashValue = (f: Faker): string =>
  pick(f, [
    () => `$2b$12$${f.string.fromCharacters('./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 53)}`,
    () => `$argon2id$v=19$m=65536,t=3,p=4$${f.string.alphanumeric(22)}$${f.string.alphanumeric(43)}`,
    () =>
      `$6$${f.string.alphanumeric(16)}$${f.string.fromCharacters('./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 86)}`,
    () => `pbkdf2_sha256$600000$${f.string.alphanumeric(22)}$${f.string.alphanumeric(43)}=`,
  ])();
const ETHNICITY = [
  'White',
  'Black or African American',
  'Asian',
  'Hispanic or Latino',
  'Native Hawaiian or Other Pacific Islander',
  'American Indian or Alaska Native',
  'Two or more races',
  'Mixed',
  'White British',
  'Black Caribbean',
  'South Asian',
  'Middle Eastern',
];
const RELIGION = [
  'Christian',
  'Catholic',
  'Protestant',
  'Muslim',
  'Jewish',
  'Hindu',
  'Buddhist',
  'Sikh',
  'Atheist',
  'Agnostic',
  'No religion',
  'Orthodox',
  'katholisch',
  'evangelisch',
  'musulman',
  'catolico',
];
const icd = (f: Faker): string =>
  `${pick(f, [...'ABCDEFGHIJKLMNOPQRSTVWXYZ'])}${digits(f, 2)}.${digits(f, f.number.int({ min: 1, max: 2 }))}`;
const freeTextValue = (f: Faker): string => {
  const filler = f.lorem.sentence({ min: 5, max: 12 });
  return f.number.int({ min: 0, max: 9 }) < 3
    ? `${filler} Contact ${pick(f, [f.internet.email(), f.phone.number({ style: 'international' })])} for details.`
    : filler;
};
const iso = (d: Date): string => d.toISOString().slice(0, 10);

interface Positive {
  readonly classifier: string;
  readonly hinted: readonly string[];
  /** Names that give no hint; empty for classifiers that need one. */
  readonly neutral: readonly string[];
  readonly type?: string;
  readonly gen: Gen;
}

const NEUTRAL = ['value', 'attr_1', 'field_b', 'data', 'col_7'];

const POSITIVES: readonly Positive[] = [
  { classifier: 'email', hinted: ['email', 'contact_email'], neutral: NEUTRAL, gen: (f) => f.internet.email() },
  {
    classifier: 'phone',
    hinted: ['phone', 'mobile_number', 'telefon'],
    neutral: NEUTRAL,
    gen: (f) => f.phone.number({ style: pick(f, ['international', 'national'] as const) }),
  },
  { classifier: 'us_ssn', hinted: ['ssn'], neutral: NEUTRAL, gen: ssn },
  { classifier: 'uk_nino', hinted: ['ni_number'], neutral: NEUTRAL, gen: nino },
  { classifier: 'es_dni', hinted: ['dni'], neutral: NEUTRAL, gen: dni },
  { classifier: 'it_codice_fiscale', hinted: ['codice_fiscale'], neutral: NEUTRAL, gen: codiceFiscale },
  { classifier: 'br_cpf', hinted: ['cpf'], neutral: NEUTRAL, gen: cpf },
  { classifier: 'fr_nir', hinted: ['numero_securite_sociale'], neutral: NEUTRAL, gen: nir },
  { classifier: 'nl_bsn', hinted: ['bsn', 'burgerservicenummer'], neutral: [], gen: bsn },
  { classifier: 'in_aadhaar', hinted: ['aadhaar'], neutral: NEUTRAL, gen: aadhaar },
  { classifier: 'de_tax_id', hinted: ['steuer_id'], neutral: [], gen: steuerId },
  { classifier: 'passport', hinted: ['passport_number', 'reisepass'], neutral: [], gen: passportNumber },
  { classifier: 'us_ein', hinted: ['ein'], neutral: NEUTRAL, gen: ein },
  {
    classifier: 'credit_card',
    hinted: ['card_number', 'cc'],
    neutral: NEUTRAL,
    gen: (f) => f.finance.creditCardNumber(),
  },
  {
    classifier: 'iban',
    hinted: ['iban'],
    neutral: NEUTRAL,
    gen: (f) => f.finance.iban({ formatted: f.datatype.boolean() }),
  },
  { classifier: 'bic', hinted: ['bic', 'swift_code'], neutral: NEUTRAL, gen: (f) => f.finance.bic() },
  { classifier: 'vat_id', hinted: ['vat_number'], neutral: NEUTRAL, gen: vat },
  { classifier: 'ipv4', hinted: ['client_ip'], neutral: NEUTRAL, gen: (f) => f.internet.ipv4() },
  { classifier: 'ipv6', hinted: ['ip_address'], neutral: NEUTRAL, gen: (f) => f.internet.ipv6() },
  { classifier: 'mac_address', hinted: ['mac'], neutral: NEUTRAL, gen: (f) => f.internet.mac() },
  { classifier: 'url', hinted: ['website'], neutral: NEUTRAL, gen: (f) => f.internet.url() },
  { classifier: 'uuid', hinted: ['guid'], neutral: NEUTRAL, gen: (f) => f.string.uuid() },
  {
    classifier: 'person_name',
    hinted: ['full_name', 'customer_name', 'first_name'],
    neutral: NEUTRAL,
    gen: (f) => f.person.fullName(),
  },
  {
    classifier: 'birth_date',
    hinted: ['date_of_birth', 'dob', 'geburtsdatum'],
    neutral: [],
    type: 'date',
    gen: (f) => iso(f.date.birthdate()),
  },
  { classifier: 'gender', hinted: ['gender', 'sex'], neutral: NEUTRAL, gen: (f) => f.person.sex() },
  { classifier: 'ethnicity', hinted: ['ethnicity'], neutral: NEUTRAL, gen: (f) => pick(f, ETHNICITY) },
  { classifier: 'religion', hinted: ['religion'], neutral: NEUTRAL, gen: (f) => pick(f, RELIGION) },
  { classifier: 'icd10', hinted: ['diagnosis_code'], neutral: NEUTRAL, gen: icd },
  {
    classifier: 'street_address',
    hinted: ['street_address', 'address_line1'],
    neutral: NEUTRAL,
    gen: (f) => f.location.streetAddress(),
  },
  {
    classifier: 'postal_code',
    hinted: ['zip_code', 'postal_code', 'plz'],
    neutral: [],
    gen: (f) => f.location.zipCode(),
  },
  { classifier: 'city', hinted: ['city', 'town'], neutral: [], gen: (f) => f.location.city() },
  { classifier: 'country', hinted: ['country'], neutral: NEUTRAL, gen: (f) => f.location.country() },
  {
    classifier: 'geo_coordinates',
    hinted: ['location', 'coordinates'],
    neutral: NEUTRAL,
    gen: (f) => `${f.location.latitude({ precision: 5 })}, ${f.location.longitude({ precision: 5 })}`,
  },
  { classifier: 'api_key', hinted: ['api_key', 'access_token'], neutral: NEUTRAL, gen: apiKeyValue },
  { classifier: 'jwt', hinted: ['id_token'], neutral: NEUTRAL, gen: jwtToken },
  {
    classifier: 'password_hash',
    hinted: ['password_hash', 'encrypted_password'],
    neutral: NEUTRAL,
    gen: passwordHashValue,
  },
  { classifier: 'free_text_pii', hinted: ['notes', 'comment'], neutral: NEUTRAL, gen: freeTextValue },
];

const luhnish = (f: Faker): string => `${f.number.int({ min: 1, max: 9 })}${digits(f, 15)}`;
const LOOKALIKES: ReadonlyArray<{ readonly names: readonly string[]; readonly type?: string; readonly gen: Gen }> = [
  {
    names: ['order_number', 'invoice_ref', 'tracking_number'],
    gen: (f) =>
      pick(f, [
        `${digits(f, 3)}-${digits(f, 3)}-${digits(f, 4)}`,
        `(${digits(f, 3)}) ${digits(f, 3)}-${digits(f, 4)}`,
        `+${digits(f, 11)}`,
      ]),
  },
  { names: ['customer_id', 'account_id', 'device_serial'], gen: luhnish },
  {
    names: ['checksum', 'sha256', 'file_digest', 'commit_sha'],
    gen: (f) => f.string.hexadecimal({ length: pick(f, [32, 40, 64]), prefix: '', casing: 'lower' }),
  },
  {
    names: ['order_date', 'created_on', 'shipped_at'],
    type: 'date',
    gen: (f) => iso(f.date.between({ from: '1950-01-01', to: '2025-12-31' })),
  },
  {
    names: ['product_code', 'sku', 'item_code'],
    gen: (f) =>
      pick(f, [
        digits(f, 5),
        `${f.string.alpha({ length: 2, casing: 'upper' })}${digits(f, 2)} ${digits(f, 1)}${f.string.alpha({ length: 2, casing: 'upper' })}`,
      ]),
  },
  { names: ['product_name', 'title', 'label'], gen: (f) => f.commerce.productName() },
  { names: ['company', 'vendor', 'brand'], gen: (f) => f.company.name() },
  { names: ['size', 'shirt_size'], gen: (f) => pick(f, ['XS', 'S', 'M', 'L', 'XL', 'XXL']) },
  { names: ['status', 'state'], gen: (f) => pick(f, ['placed', 'shipped', 'delivered', 'returned', 'cancelled']) },
  { names: ['amount', 'price'], type: 'numeric', gen: (f) => f.commerce.price() },
  { names: ['version', 'release'], gen: (f) => f.system.semver() },
  { names: ['color', 'colour'], gen: (f) => f.color.human() },
  { names: ['description', 'summary'], gen: (f) => f.lorem.sentence({ min: 5, max: 12 }) },
  { names: ['quantity', 'stock'], type: 'integer', gen: (f) => String(f.number.int({ min: 0, max: 5000 })) },
];

export interface DatasetOptions {
  readonly seed: number;
  /** Values per column. */
  readonly values: number;
  /** How many locales each positive class is generated in (round robin over eight). */
  readonly localesPerClass: number;
  /** Look-alike columns per look-alike family. */
  readonly lookalikes: number;
}

export function labelledDataset(options: DatasetOptions): LabelledColumn[] {
  for (const [, f] of LOCALES) f.seed(options.seed);
  const columns: LabelledColumn[] = [];
  let turn = 0;
  for (const p of POSITIVES) {
    for (let k = 0; k < options.localesPerClass; k++) {
      const [locale, f] = LOCALES[turn++ % LOCALES.length]!;
      const names = [...p.hinted, ...p.neutral];
      const name = names[k % names.length]!;
      columns.push({
        name,
        type: p.type ?? 'text',
        values: Array.from({ length: options.values }, () => p.gen(f, locale)),
        expected: p.classifier,
        locale,
      });
    }
  }
  for (const l of LOOKALIKES) {
    for (let k = 0; k < options.lookalikes; k++) {
      const [locale, f] = LOCALES[turn++ % LOCALES.length]!;
      columns.push({
        name: l.names[k % l.names.length]!,
        type: l.type ?? 'text',
        values: Array.from({ length: options.values }, () => l.gen(f, locale)),
        expected: null,
        locale,
      });
    }
  }
  return columns;
}
