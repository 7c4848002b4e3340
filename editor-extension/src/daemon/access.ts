// What clients must send as API key, as the daemon's `token.get` tells it: the one
// shape the supervisor keeps and the terminal set-ups (env.ts) read. Plain Node.
import type { AuthMode, TokenResult } from "./protocol";

/** What clients must send as API key (from `token.get`). */
export interface Access {
  auth: AuthMode;
  /** The token in force; only with `auth: "token"`. */
  token?: string;
  tokenFile?: string;
}

export function accessFrom(result: TokenResult): Access {
  return result.auth === "token" && result.token
    ? { auth: "token", token: result.token, tokenFile: result.token_file }
    : { auth: result.auth, tokenFile: result.token_file };
}

export function sameAccess(a: Access | undefined, b: Access | undefined): boolean {
  return a?.auth === b?.auth && a?.token === b?.token && a?.tokenFile === b?.tokenFile;
}
