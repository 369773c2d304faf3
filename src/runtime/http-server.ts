// Serving HTTP: Bun.serve on Bun, Deno.serve on Deno, behind one small function.

export interface RunningServer {
  readonly port: number;
  stop(): Promise<void>;
}

type FetchHandler = (request: Request) => Response | Promise<Response>;

export function serveHttp(fetch: FetchHandler, hostname: string, port: number): RunningServer {
  if (typeof Bun !== "undefined") {
    const server = Bun.serve({ hostname, port, fetch });
    return { port: server.port ?? port, stop: async () => void (await server.stop(true)) };
  }
  const deno = (
    globalThis as {
      Deno?: {
        serve(
          options: { hostname: string; port: number; onListen?: () => void },
          handler: FetchHandler,
        ): { addr: { port: number }; shutdown(): Promise<void> };
      };
    }
  ).Deno;
  if (!deno) throw new Error("restload serve needs Bun or Deno");
  const server = deno.serve({ hostname, port, onListen: () => {} }, fetch);
  return { port: server.addr.port, stop: () => server.shutdown() };
}
