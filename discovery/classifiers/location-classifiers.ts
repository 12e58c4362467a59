/** Where a person lives or is: street addresses, postal codes, cities, countries, coordinates. */
import validator from 'validator';
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';
import { fold } from './name-dictionary';

/**
 * Street words of English, German, French, Spanish, Italian, Portuguese and Dutch addresses (the
 * Spanish ones include the INE's types of way: arrabal, bloque, muelle, prolongación...).
 */
const STREET_WORD =
  /(^|[\s,])(street|st\.?|road|rd\.?|avenue|ave\.?|lane|ln\.?|drive|dr\.?|boulevard|blvd\.?|way|court|ct\.?|place|pl\.?|square|terrace|crescent|close|parkway|highway|hwy|circle|trail|row|walk|mews|grove|gardens|hill|park|plaza|pike|loop|alley|bypass|ridge|view|stra(ss|ß)e|str\.|weg|allee|platz|gasse|ring|damm|ufer|rue|chemin|impasse|all[ée]e|quai|cours|calle|avenida|paseo|plaza|camino|carretera|ronda|traves[ií]a|via|viale|piazza|corso|vicolo|largo|contrada|strada|rua|travessa|alameda|pra[çc]a|rodovia|estrada|straat|laan|plein|gracht|kade|steeg|singel|dreef|hof|grange|approach|glade|brow|side|green|gate|fields|end|rise|vale|wharf|yard|hollow|meadow|orchard|passage|spur|bank|chase|dale|heights|parade|causeway|esplanade|route|voie|chauss[ée]e|faubourg|glorieta|pasaje|urbanizaci[óo]n|callej[óo]n|cuesta|bajada|subida|senda|rinc[óo]n|v[ií]a|rotonda|borgo|incrocio|piazzale|lungomare|salita|ladeira|viela|marginal|acceso|arrabal|autov[ií]a|barrio|bloque|chalet|edificio|entrada|escalinata|grupo|jardines|muelle|paraje|parcela|poblado|pol[ií]gono|prolongaci[óo]n|ramal|secci[óo]n|sector|terrenos|lugar|partida|colonia|conjunto|mas[ií]a|solar|salida|torrente|quinta|rambla|aldea|huerta|puente|extramuros|ferrocarril|apartamento)(\s|,|$)/i;

export const streetAddress: Classifier = {
  id: 'street_address',
  tag: 'pii.address',
  description: 'street addresses: a house number and a street word of seven languages',
  nameHint: nameWords(
    'address|addr|street|street_address|address_line|address_line_1|address_line1|address1|line1|adresse|strasse|direccion|domicilio|indirizzo|endereco|morada|home_address|shipping_address|billing_address|mailing_address',
  ),
  nameVeto: nameWords('ip|mac|email|e_mail|url|web|wallet'),
  minShare: 0.7,
  specificity: 15,
  grade(v) {
    if (v.length < 6 || v.length > 200 || !/\p{L}/u.test(v)) return NONE;
    const number =
      /(^|\s)\d{1,5}[a-z]?(,|\s|$)/i.test(v) ||
      /\ss\/n\.?$/i.test(v) ||
      /,\s*\d{1,5}[a-z]?$/i.test(v) ||
      /\s(n[º°o]\.?\s*)?\d{1,5}$/i.test(v);
    // German compounds (Hauptstraße, Otto-Dix-Str.) and prepositional names (An der Luisenburg, Am Markt).
    const street =
      STREET_WORD.test(v) ||
      /[\p{L}-](stra(ss|ß)e|str\.|weg|gasse|allee|platz|straat|laan)(\s|$)/iu.test(v) ||
      /^([Aa]n de[rnm]|[Aa]m|[Ii]m|[Aa]uf de[rm]|[Ii]n der|[Zz]um|[Zz]ur|[Uu]nter den|[Hh]inter der) \p{Lu}/u.test(v);
    if (number && street) return VALID;
    return number || street ? SHAPE : NONE;
  },
};

/** Forms that are postal codes and nothing else (a bare five-digit number is anything). */
const DISTINCT_POSTAL: readonly RegExp[] = [
  /^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$/i, // UK
  /^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$/i, // Canada
  /^\d{4} ?[A-Z]{2}$/, // Netherlands
  /^\d{5}-\d{3}$/, // Brazil
  /^\d{5}-\d{4}$/, // US ZIP+4
  /^\d{2}-\d{3}$/, // Poland
  /^\d{3}-\d{4}$/, // Japan
];
const POSTAL_LOCALES = [
  'US',
  'DE',
  'FR',
  'ES',
  'IT',
  'GB',
  'BR',
  'NL',
  'CA',
  'AU',
  'IN',
  'JP',
  'PT',
  'CH',
  'AT',
  'BE',
  'PL',
  'SE',
] as const;

export const postalCode: Classifier = {
  id: 'postal_code',
  tag: 'pii.postal_code',
  description: 'postal codes (validator.isPostalCode in 18 countries); bare digit codes only under a postal name',
  nameHint: nameWords(
    'zip|zipcode|zip_code|postal|postal_code|postcode|post_code|postleitzahl|plz|cep|cap|code_postal|codigo_postal|codice_postale|postcode_nl|pin_code|pincode',
  ),
  nameVeto: nameWords('product|sku|part|item|article|model|order|batch|lot|error|status|http'),
  specificity: 15,
  types: ['text', 'number'],
  grade(v) {
    if (DISTINCT_POSTAL.some((p) => p.test(v)))
      return POSTAL_LOCALES.some((l) => validator.isPostalCode(v, l)) ? VALID : SHAPE;
    return /^[A-Z0-9]{2,5}[ -]?[A-Z0-9]{2,4}$/i.test(v) && /\d/.test(v) ? SHAPE : NONE;
  },
};

/** Large cities of the countries pgveil's users are in most, and world capitals. */
const CITIES = new Set(
  `new york|los angeles|chicago|houston|phoenix|philadelphia|san antonio|san diego|dallas|san jose|austin|jacksonville|fort worth|columbus|charlotte|
  san francisco|indianapolis|seattle|denver|washington|boston|el paso|nashville|detroit|oklahoma city|portland|las vegas|memphis|louisville|baltimore|
  milwaukee|albuquerque|tucson|fresno|sacramento|kansas city|atlanta|miami|raleigh|omaha|minneapolis|cleveland|tampa|new orleans|honolulu|pittsburgh|
  london|birmingham|manchester|leeds|glasgow|liverpool|edinburgh|bristol|sheffield|cardiff|belfast|leicester|nottingham|newcastle|southampton|oxford|cambridge|
  berlin|hamburg|munchen|munich|koln|cologne|frankfurt|frankfurt am main|stuttgart|dusseldorf|leipzig|dortmund|essen|bremen|dresden|hannover|nurnberg|
  nuremberg|duisburg|bochum|wuppertal|bielefeld|bonn|munster|mannheim|karlsruhe|augsburg|wiesbaden|kiel|aachen|freiburg|mainz|rostock|kassel|potsdam|
  paris|marseille|lyon|toulouse|nice|nantes|strasbourg|montpellier|bordeaux|lille|rennes|reims|le havre|toulon|grenoble|dijon|angers|nimes|brest|
  tours|amiens|limoges|perpignan|metz|besancon|orleans|rouen|mulhouse|caen|nancy|avignon|
  madrid|barcelona|valencia|sevilla|seville|zaragoza|malaga|murcia|palma|las palmas|bilbao|alicante|cordoba|valladolid|vigo|gijon|granada|
  santiago de compostela|a coruna|vitoria|oviedo|pamplona|santander|salamanca|toledo|cadiz|
  roma|rome|milano|milan|napoli|naples|torino|turin|palermo|genova|genoa|bologna|firenze|florence|bari|catania|venezia|venice|verona|messina|padova|
  trieste|brescia|parma|taranto|prato|modena|reggio calabria|perugia|livorno|cagliari|pisa|
  sao paulo|rio de janeiro|brasilia|salvador|fortaleza|belo horizonte|manaus|curitiba|recife|porto alegre|belem|goiania|guarulhos|campinas|sao luis|
  maceio|natal|teresina|florianopolis|joao pessoa|lisboa|lisbon|porto|braga|coimbra|faro|
  amsterdam|rotterdam|den haag|the hague|utrecht|eindhoven|groningen|tilburg|almere|breda|nijmegen|brussels|bruxelles|antwerp|antwerpen|gent|ghent|
  vienna|wien|graz|linz|salzburg|innsbruck|zurich|geneva|geneve|basel|bern|lausanne|dublin|cork|copenhagen|stockholm|oslo|helsinki|warsaw|warszawa|
  krakow|prague|praha|budapest|bucharest|sofia|athens|istanbul|ankara|moscow|kyiv|kiev|toronto|montreal|vancouver|calgary|ottawa|edmonton|quebec|
  mexico city|ciudad de mexico|guadalajara|monterrey|buenos aires|cordoba|rosario|bogota|medellin|lima|santiago|caracas|quito|montevideo|
  tokyo|osaka|yokohama|nagoya|kyoto|sapporo|kobe|beijing|shanghai|shenzhen|guangzhou|hong kong|singapore|seoul|busan|taipei|bangkok|jakarta|manila|
  kuala lumpur|hanoi|ho chi minh city|mumbai|delhi|new delhi|bangalore|bengaluru|hyderabad|chennai|kolkata|pune|ahmedabad|karachi|lahore|dhaka|
  cairo|lagos|nairobi|johannesburg|cape town|casablanca|accra|addis ababa|dubai|abu dhabi|riyadh|tel aviv|jerusalem|tehran|baghdad|sydney|melbourne|
  brisbane|perth|adelaide|auckland|wellington`
    .split('|')
    .map((c) => fold(c.trim())),
);

export const city: Classifier = {
  id: 'city',
  tag: 'pii.city',
  description: 'cities and towns: a dictionary of large cities, then place-name shapes under a city name',
  nameHint: nameWords(
    'city|town|ort|stadt|wohnort|ville|ciudad|localidad|citta|comune|cidade|municipio|municipality|locality|place_of_birth|birthplace|hometown|plaats|woonplaats',
  ),
  nameVeto: nameWords('country|street|state|region|product|team'),
  minShare: 0.6,
  minShareWithHint: 0.8,
  specificity: 12,
  grade(v) {
    if (v.length < 2 || v.length > 60 || /\d/.test(v) || !/^\p{Lu}/u.test(v)) return NONE;
    if (CITIES.has(fold(v))) return VALID;
    // A place-like word is only a shape: surnames end in -ton and -berg too.
    return /^[\p{L}'’.\- ]+$/u.test(v) && v.split(/\s+/).length <= 5 ? SHAPE : NONE;
  },
};

/**
 * Every country's name in English, German, French, Spanish, Italian, Portuguese and Dutch, from the
 * platform's ICU data.
 */
function countryNames(): { names: ReadonlySet<string>; codes: ReadonlySet<string> } {
  const names = new Set<string>();
  const codes = new Set<string>();
  const languages = ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl'];
  const displays = languages.map((l) => new Intl.DisplayNames([l], { type: 'region', fallback: 'none' }));
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      const english = displays[0]!.of(code);
      if (!english || code === 'EU' || code === 'UN' || code === 'EZ' || code === 'QO' || code.startsWith('X'))
        continue;
      codes.add(code);
      for (const d of displays) {
        const name = d.of(code);
        if (name) names.add(fold(name));
      }
    }
  }
  for (const alias of [
    'usa',
    'united states of america',
    'uk',
    'great britain',
    'england',
    'scotland',
    'wales',
    'holland',
    'deutschland',
    'russia',
    'south korea',
    'north korea',
    'czech republic',
  ])
    names.add(alias);
  return { names, codes };
}

let countries: ReturnType<typeof countryNames> | undefined;

export const country: Classifier = {
  id: 'country',
  tag: 'pii.country',
  description: 'countries by name in seven languages (ICU); ISO codes only under a country name',
  nameHint: nameWords(
    'country|country_code|country_name|nationality|citizenship|land|pays|pais|paese|nazione|nacionalidad|nationalite|staatsangehorigkeit|country_of_birth|country_of_residence',
  ),
  nameVeto: nameWords('currency|language|locale|lang|phone|calling|region'),
  minShare: 0.7,
  specificity: 14,
  grade(v) {
    countries ??= countryNames();
    const folded = fold(v.trim());
    if (countries.names.has(folded)) return VALID;
    return /^[A-Z]{2,3}$/.test(v.trim()) && (v.trim().length === 3 || countries.codes.has(v.trim())) ? SHAPE : NONE;
  },
};

const PAIR = /^\(?\s*(-?\d{1,3}\.\d{3,})\s*[,; ]\s*(-?\d{1,3}\.\d{3,})\s*\)?$/;
const WKT_POINT = /^(SRID=\d+;)?POINT\s*\(\s*(-?\d{1,3}(\.\d+)?)\s+(-?\d{1,2}(\.\d+)?)\s*\)$/i;

export const geoCoordinates: Classifier = {
  id: 'geo_coordinates',
  tag: 'pii.geo',
  description:
    'geographic coordinates: lat/long pairs and WKT points in text, point columns; single coordinates under a lat/long name',
  nameHint: nameWords(
    'lat|latitude|lng|lon|long|longitude|coordinates|coords|geo|geolocation|location|position|gps|latlng|lat_lng|lat_long|geopoint',
  ),
  nameVeto: nameWords('price|amount|total|rate|score|ratio|percent|balance'),
  specificity: 35,
  types: ['text', 'number', 'geometry'],
  grade(v) {
    const pair = PAIR.exec(v);
    if (pair) return validator.isLatLong(`${pair[1]},${pair[2]}`) ? VALID : SHAPE;
    const point = WKT_POINT.exec(v);
    if (point) return Math.abs(Number(point[2])) <= 180 && Math.abs(Number(point[4])) <= 90 ? VALID : SHAPE;
    const single = /^-?\d{1,3}\.\d{4,}$/.exec(v);
    return single && Math.abs(Number(v)) <= 180 ? SHAPE : NONE;
  },
};
