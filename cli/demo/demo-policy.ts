/**
 * The demo's policy file: one data product (`demo`, domain `sales`), a global rule that masks PII
 * for everyone without clearance, a domain rule that shows analysts only their region's customers,
 * and the two demo users. With a partner's verifier it also declares the external output port
 * `demo_external` (differentially private aggregates, a small budget) and the partner using it.
 */
export interface DemoPolicyParameters {
  readonly upstreamPort: number;
  readonly upstreamDatabase: string;
  readonly serviceRole: string;
  readonly passwordFile: string;
  readonly analystVerifier: string;
  readonly stewardVerifier: string;
  /** The partner outside the organisation, who may use only the external port. */
  readonly partnerVerifier?: string;
}

/** The demo's tag taxonomy: every tag its columns (comments included) and rules name. */
const DEMO_TAGS = ['pii.name', 'pii.email', 'pii.ssn', 'pii.phone', 'pii.birth_date', 'finance.card'] as const;

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
${p.partnerVerifier ? DEMO_EXTERNAL_PORT : ''}
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
${
  p.partnerVerifier
    ? `  - name: partner
    password: "${p.partnerVerifier}"
    groups: [partners]
    attributes: { region: EU }
`
    : ''
}`;
}

/**
 * Partners outside the organisation connect to database demo_external: only aggregates, with
 * differential-privacy noise added by pgveil, within a budget of epsilon 2 a day (four answers);
 * the policy above still applies (docs/output-ports.md).
 */
const DEMO_EXTERNAL_PORT = `    ports:
      - name: demo_external
        kind: external
        description: Order and customer statistics for partners outside the organisation.
        subscribers: { groups: [partners] }
        epsilonPerAnswer: 0.5
        budget: { epsilon: 2, period: day }
        relations:
          public.orders:
            privacyUnit: customer_id
            maxRowsPerUnit: 3
            dimensions:
              status: [placed, shipped, delivered, returned]
            measures:
              amount: { lower: 0, upper: 1000, decimals: 2 }
          public.customers:
            privacyUnit: id
            maxRowsPerUnit: 1
            dimensions:
              region: [EU, US, APAC]
`;
