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
  let link: unknown = error;
  // A cause chain is short (ofetch's FetchError → the runtime's TypeError → its reason); the bound guards a cycle.
  for (let depth = 0; depth < 5 && link instanceof Error; depth++, link = link.cause) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string" && connectionCodes.test(code)) return true;
    if (connectionMessages.test(link.message)) return true;
    // A runtime's own fetch timeout (ours fires first, as a TimeoutError the client handles itself).
    if (link.name === "TimeoutError") return true;
  }
  return false;
}
