/**
 * Canary values planted in the demo data: in protected columns of a row the analyst may see (EU),
 * and everywhere in rows the filter hides (US, APAC). Any of these substrings reaching the analyst
 * is a leak.
 */
export const CANARY_SQL = `
UPDATE public.customers SET email = 'zq7canary.eu.mail@example.com', ssn = 'ZQ7SSN-EU-991', phone = '+ZQ7PHONE-EU-4321' WHERE id = 3;
UPDATE public.customers SET name = 'ZQ7NAME-US', email = 'zq7canary.us.mail@example.com', ssn = 'ZQ7SSN-US-992' WHERE id = 1;
UPDATE public.customers SET name = 'ZQ7NAME-APAC', ssn = 'ZQ7SSN-APAC-993' WHERE id = 2;
UPDATE public.orders SET card_number = 'ZQ7CARD-0000-9999' WHERE id = 1;
`;

/** Substrings that must never reach the analyst (the visible last four digits are left out). */
const CANARIES = ['zq7canary', 'ZQ7SSN', 'ZQ7PHONE', 'ZQ7NAME', 'ZQ7CARD'];

export function leakedCanaries(text: string): string[] {
  const lower = text.toLowerCase();
  const hex = Buffer.from(text).toString('hex');
  return CANARIES.filter(
    (c) =>
      lower.includes(c.toLowerCase()) ||
      hex.includes(Buffer.from(c).toString('hex')) ||
      text.includes(Buffer.from(c).toString('base64').slice(0, 8)),
  );
}
