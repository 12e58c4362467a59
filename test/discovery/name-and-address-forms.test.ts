/**
 * Person names and street addresses in the forms real data has: titles and suffixes around a name,
 * double-barrelled and Mc/O' family names; German compound and prepositional street names, and the
 * Spanish types of way of the INE's list. Each value is graded as a whole column would see it.
 */
import { personName } from '../../discovery/classifiers/person-classifiers';
import { streetAddress } from '../../discovery/classifiers/location-classifiers';
import { SHAPE, VALID } from '../../discovery/classifier';

test('titles, suffixes and double-barrelled names are names; sizes and product names are not', () => {
  const grades = [
    'Ing. Elvira Severi',
    'Msc Jolijn Veenstra',
    'Menno de Vries Jr.',
    'Ethel Hagenes-Fadel',
    "Patrick O'Brien",
    'Mary McDonald',
  ].map((v) => personName.grade(v));
  // A name outside the dictionary is of a name's shape: enough under a name column, or among common names.
  expect(grades).toEqual([SHAPE, SHAPE, VALID, SHAPE, VALID, VALID]);
  expect(['M', 'XL', 'Ergonomic Steel Chair', 'order 12'].map((v) => personName.grade(v))).toEqual([0, 0, SHAPE, 0]);
});

test('German compounds and prepositional names, and Spanish types of way, are street addresses', () => {
  const grades = [
    'Otto-Dix-Str. 41c',
    'An der Luisenburg 10',
    'Am Markt 3',
    'Arrabal Emilio, 3',
    'Prolongación Gabriela, 9',
    'Muelle Luis 77',
    'Chalet Horacio Tamayo s/n.',
  ].map((v) => streetAddress.grade(v));
  expect(grades).toEqual([VALID, VALID, VALID, VALID, VALID, VALID, VALID]);
  expect(['Ergonomic Steel Chair', 'Größe 42'].map((v) => streetAddress.grade(v))).toEqual([0, SHAPE]);
});
