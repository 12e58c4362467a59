/**
 * A compact spelling of protocol frames for table-driven pipeline tests.
 *
 * Frontend frames (what goes upstream) read as `Q <sql>`, `P <name>: <sql>`, `B <portal> <- <statement>`,
 * `D S|P <name>`, `E <portal> max <n>`, `C S|P <name>`, `S`, `H`.
 * Backend answers read as `1` ParseComplete, `2` BindComplete, `3` CloseComplete, `n` NoData,
 * `T` RowDescription, `D` DataRow, `s` PortalSuspended, `I` EmptyQueryResponse, `C <tag>`,
 * `E <sqlstate>`, `Z <status>`. An answer written `E <sqlstate> sentinel` carries the refusal token
 * in its message, as upstream's error for a refused statement's sentinel does.
 */
import { BackendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';
import {
  FrontendDecoder,
  readBindNames,
  readExecutePortal,
  readParse,
  readQuery,
  readTarget,
  type FrontendMessage,
} from '../../proxy/protocol/frontend-decoder';
import { decodeFields, encodeFields } from '../../proxy/pg-error';

/** Client messages, as the pipeline receives them, from frontend bytes. */
export function frontendMessages(bytes: Buffer): FrontendMessage[] {
  const decoder = new FrontendDecoder(1 << 20);
  decoder.endStartupPhase();
  decoder.push(bytes);
  const out: FrontendMessage[] = [];
  for (let m = decoder.next(); m; m = decoder.next()) out.push(m);
  return out;
}

/** Frontend bytes spelled as the module comment says. */
export function describeFrontend(bytes: Buffer | undefined): string[] {
  if (!bytes) return [];
  return frontendMessages(bytes).map((m) => {
    switch (String.fromCharCode(m.code)) {
      case 'Q':
        return `Q ${readQuery(m)}`;
      case 'P': {
        const p = readParse(m);
        return `P ${p.name}: ${p.sql}`;
      }
      case 'B': {
        const b = readBindNames(m);
        return `B ${b.portal} <- ${b.statement}`;
      }
      case 'D':
      case 'C': {
        const t = readTarget(m);
        return `${String.fromCharCode(m.code)} ${t.kind === 'statement' ? 'S' : 'P'} ${t.name}`;
      }
      case 'E':
        return `E ${readExecutePortal(m)} max ${m.frame.readInt32BE(m.frame.length - 4)}`;
      default:
        return String.fromCharCode(m.code);
    }
  });
}

/** Backend frames from their spelling; `token` goes into sentinel errors. */
export function backendFrames(answers: readonly string[], token: string): Buffer {
  return Buffer.concat(answers.map((a) => backendFrame(a, token)));
}

function backendFrame(answer: string, token: string): Buffer {
  const [code = '', ...rest] = answer.split(' ');
  const arg = rest.join(' ');
  switch (code) {
    case '1':
    case '2':
    case '3':
    case 'n':
    case 's':
    case 'I':
      return write.frame(code.charCodeAt(0), Buffer.alloc(0));
    case 'T': {
      // One text column named v.
      const body = Buffer.alloc(2 + 2 + 18);
      body.writeInt16BE(1, 0);
      body.write('v\0', 2);
      body.writeInt32BE(25, 4 + 6);
      body.writeInt16BE(-1, 4 + 10);
      body.writeInt32BE(-1, 4 + 12);
      return write.frame(BackendCode.RowDescription, body);
    }
    case 'D': {
      const body = Buffer.from([0, 1, 0, 0, 0, 1, 0x78]);
      return write.frame(BackendCode.DataRow, body);
    }
    case 'C':
      return write.frame(BackendCode.CommandComplete, Buffer.from(`${arg}\0`));
    case 'Z':
      return write.readyForQuery(arg.charCodeAt(0));
    case 'E': {
      const [sqlstate = 'XX000', sentinel] = rest;
      const message = sentinel === 'sentinel' ? `column "pgveil refused ${token}" does not exist` : 'upstream error';
      return encodeFields(BackendCode.ErrorResponse, [
        ['S', 'ERROR'],
        ['C', sqlstate],
        ['M', message],
      ]);
    }
    default:
      throw new Error(`unknown answer ${answer}`);
  }
}

/** Backend bytes spelled as the module comment says (errors by SQLSTATE only). */
export function describeBackend(chunks: readonly Buffer[]): string[] {
  const bytes = Buffer.concat(chunks);
  const out: string[] = [];
  for (let pos = 0; pos < bytes.length;) {
    const code = String.fromCharCode(bytes[pos]!);
    const end = pos + 1 + bytes.readUInt32BE(pos + 1);
    const frame = bytes.subarray(pos, end);
    pos = end;
    if (code === 'C') out.push(`C ${frame.toString('utf8', 5, frame.length - 1)}`);
    else if (code === 'E') out.push(`E ${decodeFields(frame).get('C')}`);
    else if (code === 'Z') out.push(`Z ${String.fromCharCode(frame[5]!)}`);
    else if (code === 'S' || code === 'N')
      continue; // ParameterStatus, NoticeResponse: not part of the answer
    else out.push(code);
  }
  return out;
}
