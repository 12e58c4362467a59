/** E-mail addresses, phone numbers, URLs and network addresses (validator, libphonenumber-js). */
import validator from 'validator';
import { isValidPhoneNumber, type CountryCode } from 'libphonenumber-js';
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';

const EMAIL_SHAPE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const email: Classifier = {
  id: 'email',
  tag: 'pii.email',
  description: 'e-mail addresses (RFC 5322 syntax, validator.isEmail)',
  nameHint: nameWords('e_?mail|mail|email_address|courriel|correo'),
  specificity: 50,
  grade: (v) => (!EMAIL_SHAPE.test(v) ? NONE : validator.isEmail(v) ? VALID : SHAPE),
};

/** Countries whose national formats are tried for a number written without a `+`. */
const NATIONAL_PLANS: CountryCode[] = [
  'US',
  'GB',
  'DE',
  'FR',
  'ES',
  'IT',
  'BR',
  'NL',
  'IN',
  'AU',
  'MX',
  'PT',
  'CH',
  'BE',
];

/**
 * Parsing a number against a plan is costly (a fraction of a millisecond): the plan that matched
 * last is tried first, as a column's numbers mostly share one country.
 */
function validNational(number: string): boolean {
  for (let i = 0; i < NATIONAL_PLANS.length; i++) {
    const country = NATIONAL_PLANS[i]!;
    if (isValidPhoneNumber(number, country)) {
      if (i > 0) NATIONAL_PLANS.unshift(...NATIONAL_PLANS.splice(i, 1));
      return true;
    }
  }
  return false;
}
const PHONE_SHAPE = /^\+?[\d\s().\-/]{7,22}(\s*(x|ext\.?|#)\s*\d{1,6})?$/i;
/** Dates, IPv4 addresses and decimals are digits and separators too. */
const NOT_PHONE = /^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{1,3}(\.\d{1,3}){3}$|^-?\d+\.\d+$/;

export const phone: Classifier = {
  id: 'phone',
  tag: 'pii.phone',
  description: 'phone numbers in E.164 or a national form (libphonenumber-js numbering plans)',
  nameHint: nameWords(
    'phone|phone_number|tel|telephone|telefon|telefono|telefone|mobile|cell|cellphone|handy|portable|celular|fax|msisdn|contact_number',
  ),
  nameVeto: nameWords(
    'order|invoice|sku|ref|reference|serial|tracking|account|iban|product|part|batch|lot|ticket|case',
  ),
  specificity: 20,
  types: ['text', 'number'],
  grade(v) {
    if (!PHONE_SHAPE.test(v) || NOT_PHONE.test(v)) return NONE;
    const digits = v.replace(/\D/g, '').length;
    if (digits < 7 || digits > 15) return NONE;
    // Bare digits are as likely an id or an amount: only a name can tell.
    if (/^\d+$/.test(v)) return SHAPE;
    const number = v.replace(/\s*(x|ext\.?|#)\s*\d{1,6}$/i, '');
    if (number.startsWith('+') || number.startsWith('00'))
      return isValidPhoneNumber(number.replace(/^00/, '+')) ? VALID : SHAPE;
    return validNational(number) ? VALID : SHAPE;
  },
};

export const url: Classifier = {
  id: 'url',
  tag: 'web.url',
  description: 'URLs with a scheme (validator.isURL)',
  nameHint: nameWords('url|uri|link|website|homepage|web_?site|profile_url|avatar'),
  specificity: 30,
  grade: (v) =>
    !/^[a-z][a-z0-9+.-]*:\/\//i.test(v)
      ? NONE
      : validator.isURL(v, { require_protocol: true, require_tld: true })
        ? VALID
        : SHAPE,
};

export const ipv4: Classifier = {
  id: 'ipv4',
  tag: 'pii.ip_address',
  description: 'IPv4 addresses (validator.isIP)',
  nameHint: nameWords('ip|ip_?addr|ip_?address|ipv4|client_ip|remote_addr|host_ip|source_ip'),
  nameVeto: nameWords('version|release|build'),
  specificity: 40,
  types: ['text', 'network'],
  grade: (v) => {
    const address = v.replace(/\/\d{1,2}$/, '');
    return !/^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? NONE : validator.isIP(address, 4) ? VALID : SHAPE;
  },
};

export const ipv6: Classifier = {
  id: 'ipv6',
  tag: 'pii.ip_address',
  description: 'IPv6 addresses (validator.isIP)',
  nameHint: nameWords('ip|ip_?addr|ip_?address|ipv6|client_ip|remote_addr'),
  specificity: 40,
  types: ['text', 'network'],
  grade: (v) => {
    const address = v.replace(/\/\d{1,3}$/, '');
    return !/^[0-9a-f:.]+$/i.test(address) || !address.includes(':')
      ? NONE
      : validator.isIP(address, 6)
        ? VALID
        : SHAPE;
  },
};

export const mac: Classifier = {
  id: 'mac_address',
  tag: 'pii.device_id',
  description: 'MAC addresses (validator.isMACAddress)',
  nameHint: nameWords('mac|mac_?addr|mac_?address|hw_?addr|bssid'),
  specificity: 45,
  types: ['text', 'network'],
  grade: (v) =>
    !/^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$/i.test(v) && !/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(v)
      ? NONE
      : validator.isMACAddress(v)
        ? VALID
        : SHAPE,
};

export const uuid: Classifier = {
  id: 'uuid',
  tag: 'identifier.uuid',
  description: 'UUIDs (validator.isUUID)',
  nameHint: nameWords('uuid|guid'),
  specificity: 80,
  types: ['text', 'uuid'],
  grade: (v) => (validator.isUUID(v) ? VALID : NONE),
};
