/**
 * About a person: names (shape plus a dictionary of common names), dates of birth (a birth name
 * plus a plausible date), gender, ethnicity and religion (dictionaries in several languages), and
 * ICD-10 diagnosis codes.
 */
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';
import { FAMILY_NAMES, GIVEN_NAMES, fold } from './name-dictionary';

// A capitalised word (McDonald, O'Brien, double-barrelled Gibson-Bergnaum), an initial, or a particle.
const NAME_TOKEN =
  /^(\p{Lu}[\p{Ll}'’]+(\p{Lu}[\p{Ll}'’]+)?(-\p{L}[\p{Ll}'’]+)*|\p{Lu}\.|(de|da|do|dos|das|del|della|di|du|van|von|der|den|la|le|y|e|bin|al))$/u;
// Honorifics, academic titles and generational suffixes around a name (Ing. Elvira Severi, Msc Jolijn
// Veenstra, Menno de Vries Jr.) are not part of it.
const TITLES =
  /^(mr|mrs|ms|mx|miss|dr|dra|prof|sr|sra|srta|herr|frau|m|mme|mlle|sig|sig\.ra|dott|ing|ir|drs|msc|bsc|mba|phd|dipl|mag|lic|avv|jr|ii|iii|iv)\.?$/i;

export const personName: Classifier = {
  id: 'person_name',
  tag: 'pii.name',
  description: 'person names: one to five capitalised words, a common given or family name among them',
  nameHint: nameWords(
    'name|full_name|first_name|firstname|last_name|lastname|given_name|family_name|surname|middle_name|customer_name|contact_name|person_name|patient_name|employee_name|holder|cardholder|account_holder|nom|prenom|nombre|apellido|vorname|nachname|nome|cognome|sobrenome',
  ),
  nameVeto: nameWords(
    'product|company|file|host|hostname|table|schema|user_?name|login|domain|brand|item|category|display|street|city|country|region|bank|shop|store|project|team|org|organisation|organization|business|event|app|device|column|tag|title|model|server|queue|job|plan|campaign',
  ),
  minShare: 0.3,
  minShapeShare: 0.9,
  minShareWithHint: 0.8,
  specificity: 10,
  grade(v) {
    const tokens = v
      .trim()
      .split(/\s+/)
      .filter((t) => !TITLES.test(t));
    if (tokens.length < 1 || tokens.length > 5 || v.length > 80) return NONE;
    if (!tokens.every((t) => NAME_TOKEN.test(t))) return NONE;
    const folded = tokens.flatMap((t) => fold(t.replace(/[.'’]/g, '')).split('-'));
    return folded.some((t) => GIVEN_NAMES.has(t) || FAMILY_NAMES.has(t)) ? VALID : SHAPE;
  },
};

const BIRTH_HINT = nameWords(
  'dob|birth|birthday|birthdate|birth_date|date_of_birth|born|born_on|geburtsdatum|geburtstag|date_naissance|naissance|fecha_nacimiento|nacimiento|data_nascimento|nascimento|data_di_nascita|geboortedatum',
);

export const birthDate: Classifier = {
  id: 'birth_date',
  tag: 'pii.birth_date',
  description: 'dates of birth: a birth name and dates between 120 years ago and today',
  nameHint: BIRTH_HINT,
  needsNameHint: true,
  specificity: 50,
  types: ['date', 'text'],
  grade(v) {
    const m = /^(\d{4})-(\d{2})-(\d{2})|^(\d{2})[./](\d{2})[./](\d{4})$/.exec(v);
    if (!m) return NONE;
    const year = Number(m[1] ?? m[6]);
    const now = new Date().getUTCFullYear();
    return year >= now - 120 && year <= now ? VALID : SHAPE;
  },
};

const dictionary = (words: string): ReadonlySet<string> => new Set(words.split('|').map(fold));

const GENDERS = dictionary(
  'male|female|man|woman|men|women|non-binary|nonbinary|non binary|genderqueer|transgender|trans|agender|intersex|other|unknown|prefer not to say|diverse|divers|mannlich|weiblich|homme|femme|masculin|feminin|hombre|mujer|masculino|femenino|maschio|femmina|maschile|femminile|man|vrouw|mannelijk|vrouwelijk|mann|frau|uomo|donna|feminino|femea|macho',
);

export const gender: Classifier = {
  id: 'gender',
  tag: 'pii.gender',
  description: 'gender and sex, in words in eight languages; the letters M and F only under a gender name',
  nameHint: nameWords('gender|sex|geschlecht|sexe|genre|genero|sexo|sesso|geslacht'),
  nameVeto: nameWords('size|grade|level|status'),
  specificity: 25,
  grade(v) {
    const folded = fold(v.trim());
    if (/^(m|f|x|d|w|h|u)$/.test(folded)) return SHAPE;
    return GENDERS.has(folded) && !['other', 'unknown', 'trans'].includes(folded)
      ? VALID
      : GENDERS.has(folded)
        ? SHAPE
        : NONE;
  },
};

const ETHNICITIES = dictionary(
  'white|black|asian|hispanic|latino|latina|latinx|hispanic or latino|not hispanic or latino|african american|black or african american|caucasian|native american|american indian|american indian or alaska native|alaska native|pacific islander|native hawaiian or other pacific islander|native hawaiian|middle eastern|arab|mixed|multiracial|two or more races|biracial|south asian|east asian|southeast asian|indigenous|aboriginal|roma|white british|white other|black african|black caribbean|mixed white and black caribbean|mixed white and asian|other ethnic group',
);

export const ethnicity: Classifier = {
  id: 'ethnicity',
  tag: 'pii.ethnicity',
  description: 'ethnicity and race (census categories of several countries)',
  nameHint: nameWords('ethnicity|ethnic|ethnic_group|race|ethnie|etnia|etnicidad|herkunft'),
  nameVeto: nameWords('horse|car|marathon'),
  specificity: 25,
  grade: (v) => (ETHNICITIES.has(fold(v.trim())) ? VALID : NONE),
};

const RELIGIONS = dictionary(
  "christian|christianity|catholic|roman catholic|protestant|orthodox|eastern orthodox|evangelical|lutheran|anglican|baptist|methodist|mormon|jehovah's witness|muslim|islam|sunni|shia|jewish|judaism|hindu|hinduism|buddhist|buddhism|sikh|sikhism|jain|bahai|shinto|taoist|atheist|agnostic|no religion|none|spiritual|pagan|christ|chretien|catholique|musulman|juif|juive|cristiano|catolico|musulman|judio|evangelisch|katholisch|muslimisch|judisch|cattolico|ebreo|ateo|ateu|catolico|evangelico|espirita",
);

export const religion: Classifier = {
  id: 'religion',
  tag: 'pii.religion',
  description: 'religion and belief (dictionary in six languages)',
  nameHint: nameWords(
    'religion|religious|faith|belief|denomination|confession|konfession|religione|religiao|religion_affiliation',
  ),
  specificity: 25,
  grade(v) {
    const folded = fold(v.trim());
    if (!RELIGIONS.has(folded)) return NONE;
    // "none" alone says nothing; it counts only beside other answers.
    return folded === 'none' || folded === 'no religion' ? SHAPE : VALID;
  },
};

export const icd10: Classifier = {
  id: 'icd10',
  tag: 'health.diagnosis',
  description: 'ICD-10 diagnosis codes (chapter letter, two digits, optional subcategory after a dot)',
  nameHint: nameWords(
    'icd|icd10|icd_10|icd_code|diagnosis|diagnosis_code|diag|diag_code|condition|condition_code|dx|dx_code|cim10',
  ),
  nameVeto: nameWords('sku|product|part|seat|room|gate|grid|cell'),
  specificity: 30,
  grade(v) {
    if (/^[A-TV-Z]\d{2}\.[0-9A-Z]{1,4}$/.test(v)) return VALID;
    return /^[A-TV-Z]\d[0-9A-Z]$/.test(v) ? SHAPE : NONE;
  },
};
