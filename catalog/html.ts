/**
 * HTML built only through the `html` tagged template: every interpolated value is escaped unless it
 * is itself the output of `html`, so escaping is the default and forgetting it is not possible.
 * Policy files, column names, user names and event messages are attacker-influenced text; none of
 * them can open an element, an attribute or a script in a page.
 */

/** Markup that is already safe: produced by `html` (or `raw` for the few constant fragments). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for an element's content or a double-quoted attribute value. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** A constant fragment written in this code base (never data). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

/** A path under the catalog with each segment encoded, so a name cannot change the route. */
export function catalogPath(...segments: readonly string[]): string {
  return ['/catalog', ...segments.map((s) => encodeURIComponent(s))].join('/');
}

/** A catalog URL with query parameters (empty ones left out). */
export function catalogUrl(path: string, query: Readonly<Record<string, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** An element id made from a name: only [a-z0-9-], so it is safe in an id and a fragment. */
export function anchorId(prefix: string, name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  // Names differing only in punctuation would share a slug: a short hash keeps them apart.
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `${prefix}-${slug}-${h.toString(36)}`;
}
