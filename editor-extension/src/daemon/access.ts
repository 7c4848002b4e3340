// What clients must send as API key, as the daemon's `token.get` tells it: the one
// shape the supervisor keeps, and where clients dial. Plain Node.
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

/** Where clients dial the daemon: its listen URL, a wildcard address made loopback. */
export function clientUrl(listenUrl: string): string {
  return listenUrl
    .replace(/\/+$/, "")
    .replace("://0.0.0.0:", "://127.0.0.1:")
    .replace("://[::]:", "://[::1]:");
}

/**
 * What clients send as API key: the access token; with `auth: none` the daemon
 * takes any key, and the ARGO username is sent as before.
 */
export function clientKey(access: Access | undefined, user: string): string {
  return access?.auth === "token" && access.token ? access.token : user;
}
