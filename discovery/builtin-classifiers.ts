/** The built-in classifiers, in the order reports list them. */
import type { Classifier } from './classifier';
import { email, ipv4, ipv6, mac, phone, url, uuid } from './classifiers/contact-classifiers';
import {
  brCpf,
  deTaxId,
  esDni,
  frNir,
  inAadhaar,
  itCodiceFiscale,
  nlBsn,
  passport,
  ukNino,
  usEin,
  usSsn,
} from './classifiers/national-id-classifiers';
import { bic, creditCard, iban, vatId } from './classifiers/finance-classifiers';
import { apiKey, jwt, passwordHash } from './classifiers/secret-classifiers';
import { birthDate, ethnicity, gender, icd10, personName, religion } from './classifiers/person-classifiers';
import { city, country, geoCoordinates, postalCode, streetAddress } from './classifiers/location-classifiers';
import { freeText } from './classifiers/free-text-classifier';

export const BUILTIN_CLASSIFIERS: readonly Classifier[] = [
  email,
  phone,
  usSsn,
  ukNino,
  esDni,
  itCodiceFiscale,
  brCpf,
  frNir,
  nlBsn,
  inAadhaar,
  deTaxId,
  passport,
  usEin,
  creditCard,
  iban,
  bic,
  vatId,
  ipv4,
  ipv6,
  mac,
  url,
  uuid,
  personName,
  birthDate,
  gender,
  ethnicity,
  religion,
  icd10,
  streetAddress,
  postalCode,
  city,
  country,
  geoCoordinates,
  apiKey,
  jwt,
  passwordHash,
  freeText,
];
