/**
 * An upstream ErrorResponse's position (field P) points into the rewritten text pgveil sent; the
 * client shows it against the analyst's own text (psql's caret, an IDE's highlight). The position
 * is moved to the same token of the analyst's text, or left out when the rewritten text has no
 * counterpart there (text pgveil wrote).
 */
import { encodeFields } from '../pg-error';
import { BackendCode } from '../protocol/message-codes';
import { originalPosition } from '../../rewriter';

/** pgveil's own refusal, as PgError writes it, plus the place in the analyst's text when it has one. */
export function refusalResponse(sqlstate: string, message: string, position: number | undefined): Buffer {
  const fields: Array<[string, string]> = [
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', sqlstate],
    ['M', message],
  ];
  if (position !== undefined) fields.push(['P', String(position)]);
  return encodeFields(BackendCode.ErrorResponse, fields);
}

export function errorAtOriginalPosition(
  frame: Buffer,
  fields: ReadonlyMap<string, string>,
  original: string | undefined,
  rewritten: string | undefined,
): Buffer {
  const position = fields.get('P');
  if (position === undefined) return frame;
  const mapped =
    original !== undefined && rewritten !== undefined
      ? originalPosition(original, rewritten, Number(position))
      : undefined;
  const out: Array<[string, string]> = [];
  for (const [key, value] of fields) {
    if (key !== 'P') out.push([key, value]);
    else if (mapped !== undefined) out.push([key, String(mapped)]);
  }
  return encodeFields(BackendCode.ErrorResponse, out);
}
