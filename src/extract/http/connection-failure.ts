// Which thrown errors are the network failing (worth another attempt) rather than anything else.

/**
 * System and runtime codes of a connection that could not be made or was lost: POSIX errno names
 * (Node, Bun), undici's socket errors, Bun's own names (a garbled response, as a proxy or load
 * balancer may send, is `Malformed_HTTP_Response`; Deno reports it as "error sending request"),
 * and TLS failures (Bun puts OpenSSL's verify codes on the error; a TLS failure has always been
 * reported as a failed connection).
 */
const connectionCodes =
  /^(E(CONN(RESET|REFUSED|ABORTED)|PIPE|TIMEDOUT|NOTFOUND|AI_AGAIN|HOSTUNREACH|HOSTDOWN|NETUNREACH|NETDOWN|NETRESET|PROTO)|UND_ERR_(SOCKET|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|CLOSED)|Connection(Refused|Closed|Reset|Timeout)|SocketClosed|FailedToOpenSocket|Malformed_HTTP_Response|ContentLengthMismatch|ProxyConnectFailed|TLSHandshakeFailed|DNS_\w+|ERR_TLS_\w+|ERR_SSL_\w+|\w*CERT\w*|UNABLE_TO_\w+)$/;

/** Deno gives no codes: its fetch rejects with TypeError("fetch failed") caused by an Error saying what broke. */
const connectionMessages =
  /error sending request|connection (was )?(reset|refused|closed|aborted)|broken pipe|os error \d+|dns error|tcp connect error|peer certificate|handshake/i;

/**
 * True when `error` (or an error it was caused by) is a network failure: refused, reset, timed
 * out, name not resolved, TLS handshake failed. A TypeError or RangeError from restload's own code,
 * or a header value the runtime refuses, is not.
 *
 * @example
 * isConnectionFailure(Object.assign(new TypeError("socket closed"), { code: "ECONNRESET" })) // true
 * isConnectionFailure(new TypeError("Cannot read properties of undefined")) // false
 */
export function isConnectionFailure(error: unknown): boolean {
  // A runtime's own fetch timeout counts (ours fires first, as a TimeoutError the client handles itself).
  return someCause(
    error,
    (link, code) =>
      (code !== undefined && connectionCodes.test(code)) || connectionMessages.test(link.message) || link.name === "TimeoutError",
  );
}

/**
 * Connection failures that come before a byte of the request is sent: a name that does not
 * resolve, a connection refused or unreachable or not made in time, a failed TLS handshake or proxy
 * CONNECT. A reset, a closed socket or a timeout may come after the server got the request, so a
 * request that must not be sent twice (a refresh-token grant) is retried only after these.
 */
export function failedBeforeSending(error: unknown): boolean {
  return someCause(error, (link, code) => (code !== undefined && unsentCodes.test(code)) || unsentMessages.test(link.message));
}

// internal

const unsentCodes =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|EHOSTDOWN|ENETUNREACH|ENETDOWN|UND_ERR_CONNECT_TIMEOUT|ConnectionRefused|FailedToOpenSocket|ProxyConnectFailed|TLSHandshakeFailed|DNS_\w+|ERR_TLS_\w+|ERR_SSL_\w+|\w*CERT\w*|UNABLE_TO_\w+)$/;
/** Deno's words for the same (it gives no codes). */
const unsentMessages = /connection refused|dns error|tcp connect error|peer certificate|handshake/i;

/** Whether `test` holds for `error` or an error it was caused by, with the error's string code if any. */
function someCause(error: unknown, test: (link: Error, code: string | undefined) => boolean): boolean {
  let link: unknown = error;
  // A cause chain is short (ofetch's FetchError → the runtime's TypeError → its reason); the bound guards a cycle.
  for (let depth = 0; depth < 5 && link instanceof Error; depth++, link = link.cause) {
    const code = (link as { code?: unknown }).code;
    if (test(link, typeof code === "string" ? code : undefined)) return true;
  }
  return false;
}
