/** Message type bytes of the PostgreSQL v3 protocol, as the letters the documentation uses. */
export const FrontendCode = {
  Query: 0x51, // 'Q'
  Parse: 0x50, // 'P'
  Bind: 0x42, // 'B'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Close: 0x43, // 'C'
  Sync: 0x53, // 'S'
  Flush: 0x48, // 'H'
  Terminate: 0x58, // 'X'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Password: 0x70, // 'p' (PasswordMessage, SASLInitialResponse, SASLResponse)
  FunctionCall: 0x46, // 'F' (refused: runs a function by OID without SQL)
} as const;

export const BackendCode = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  ParameterStatus: 0x53, // 'S'
  ReadyForQuery: 0x5a, // 'Z'
  ErrorResponse: 0x45, // 'E'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  CommandComplete: 0x43, // 'C'
  ParseComplete: 0x31, // '1'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  ParameterDescription: 0x74, // 't'
  NoData: 0x6e, // 'n'
  DataRow: 0x44, // 'D'
  RowDescription: 0x54, // 'T'
  EmptyQueryResponse: 0x49, // 'I'
  PortalSuspended: 0x73, // 's'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  CopyBothResponse: 0x57, // 'W'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  NegotiateProtocolVersion: 0x76, // 'v'
} as const;

/** Request codes carried in the length-prefixed, untyped startup-phase packets. */
export const StartupCode = {
  ProtocolV3: 196608, // 3.0
  SSLRequest: 80877103,
  GSSENCRequest: 80877104,
  CancelRequest: 80877102,
} as const;

export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;
