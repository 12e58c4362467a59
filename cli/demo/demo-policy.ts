/**
 * The demo's policy file: one data product (`demo`, domain `sales`), a global rule that masks PII
 * for everyone without clearance, a domain rule that shows analysts only their region's customers,
 * and the two demo users.
 */
export interface DemoPolicyParameters {
  readonly upstreamPort: number;
  readonly upstreamDatabase: string;
  readonly serviceRole: string;
  readonly passwordFile: string;
  readonly analystVerifier: string;
  readonly stewardVerifier: string;
}

/** The demo's tag taxonomy: every tag its columns (comments included) and rules name. */
export const DEMO_TAGS = ['pii.name', 'pii.email', 'pii.ssn', 'pii.phone', 'pii.birth_date', 'finance.card'] as const;

/** The taxonomy line, as the demo writes it (and adds to a policies.yaml an older pgveil wrote). */
export const DEMO_TAGS_LINE = `tags: [${DEMO_TAGS.join(', ')}]`;

export function demoPolicyYaml(p: DemoPolicyParameters): string {
  return `# pgveil demo policies. Edit and save: pgveil reloads this file for the next statement.

# The tag taxonomy: a tag that a column (here or in a column comment) or a rule names must be
# declared here, so that a typo is a load error (or a refused column), never an unmasked one.
${DEMO_TAGS_LINE}

dataProducts:
  - name: demo
    domain: sales
    upstream:
      host: 127.0.0.1
      port: ${p.upstreamPort}
      database: ${p.upstreamDatabase}
      user: ${p.serviceRole}
      passwordFile: ${p.passwordFile}
    # Tags can also live here; the demo's come from column comments (pgveil:tags=...).
    tables:
      public.customers:
        columns:
          name: [pii.name]

globalPolicies:
  - id: mask-pii
    description: Governance board - PII is masked for everyone without PII clearance.
    unless: { attribute: clearance, equals: pii }
    columns:
      - tags: [pii.email]
        action: { kind: mask_email }
      - tags: [pii.ssn]
        action: { kind: hash }
      - tags: [pii.phone]
        action: { kind: mask, keepFirst: 0, keepLast: 4, maskChar: "*" }
      - tags: [pii.birth_date]
        action: { kind: truncate_date, unit: year }
  - id: mask-cards
    description: Card numbers keep only their last four digits, for everyone.
    columns:
      - tags: [finance.card]
        action: { kind: mask, keepFirst: 0, keepLast: 4, maskChar: "*" }

domainPolicies:
  - id: sales-region-rows
    domain: sales
    description: Sales analysts see the customers of their own region.
    tables: [public.customers]
    unless: { attribute: region, equals: "*" }
    rows: { column: region, equals: { user: region } }

subscriptions:
  - dataProduct: demo
    groups: [analysts, stewards]

users:
  - name: analyst
    password: "${p.analystVerifier}"
    groups: [analysts]
    attributes: { region: EU }
  - name: steward
    password: "${p.stewardVerifier}"
    groups: [stewards]
    attributes: { region: "*", clearance: pii }
`;
}
