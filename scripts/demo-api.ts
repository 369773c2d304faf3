// The demo API: a GitHub-like fake with issues (nested user, labels and assignees lists), Link-header
// pages, a `since` filter, comments per issue, and an asynchronous export job of the issues (POST
// exports, poll exports/{id}, read exports/{id}/result as NDJSON). Used by `npm run demo`, the
// benchmarks and tests.
//
// Usage: bun scripts/demo-api.ts [--issues N] [--port P]   (prints its base URL)
import { parseArgs } from "node:util";

export interface DemoApiOptions {
  /** How many issues exist. */
  readonly issues?: number;
  /** Milliseconds added to every response. */
  readonly latencyMs?: number;
  readonly port?: number;
}

export interface DemoApi {
  readonly url: string;
  /** Requests served so far, by path (for tests asserting what was fetched). */
  readonly requests: string[];
  /** The bodies of the export jobs requested (POST exports), in order. */
  readonly exportRequests: unknown[];
  /** Moves `count` issues forward in time (as if edited): their updated_at becomes `at`. */
  touch(numbers: readonly number[], at: string): void;
  stop(): Promise<void>;
}

const labelNames = ["bug", "enhancement", "question", "docs", "good first issue", "help wanted"];
const users = ["octocat", "hubot", "monalisa", "defunkt", "mojombo", "pjhyett", "wycats", "ezmobius"];

interface Issue {
  url: string;
  html_url: string;
  comments_url: string;
  node_id: string;
  id: number;
  number: number;
  title: string;
  state: string;
  user: { login: string; id: number; site_admin: boolean };
  labels: { id: number; name: string; color: string }[];
  assignees: { login: string; id: number }[];
  comments: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  author_association: string;
  reactions: Record<string, number | string>;
  body: string;
}

/** A deterministic set of issues: the same for every start. */
export function demoIssues(count: number): Issue[] {
  const base = Date.UTC(2024, 0, 1);
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const user = users[n % users.length]!;
    const api = `https://api.github.example/repos/acme/widgets/issues/${n}`;
    return {
      url: api,
      html_url: `https://github.example/acme/widgets/issues/${n}`,
      comments_url: `${api}/comments`,
      node_id: Buffer.from(`Issue:${1_000_000 + n}`).toString("base64"),
      id: 1_000_000 + n,
      number: n,
      title: `Issue ${n}: ${["crash on start", "add an option", "docs typo", "slow query", "wrong total"][n % 5]}`,
      state: n % 4 === 0 ? "closed" : "open",
      user: {
        login: user,
        id: 100 + (n % users.length),
        node_id: Buffer.from(`User:${100 + (n % users.length)}`).toString("base64"),
        avatar_url: `https://avatars.github.example/u/${100 + (n % users.length)}?v=4`,
        html_url: `https://github.example/${user}`,
        type: "User",
        site_admin: n % 8 === 0,
      },
      labels: Array.from({ length: n % 3 }, (_, k) => ({
        id: 10 + ((n + k) % labelNames.length),
        name: labelNames[(n + k) % labelNames.length]!,
        color: "ededed",
      })),
      assignees: Array.from({ length: n % 2 }, (_, k) => ({
        login: users[(n + k + 1) % users.length]!,
        id: 100 + ((n + k + 1) % users.length),
      })),
      comments: n % 3,
      created_at: new Date(base + n * 3_600_000).toISOString().replace(".000", ""),
      updated_at: new Date(base + n * 3_600_000 + 1_800_000).toISOString().replace(".000", ""),
      closed_at: n % 4 === 0 ? new Date(base + n * 3_600_000 + 1_800_000).toISOString().replace(".000", "") : null,
      author_association: n % 5 === 0 ? "MEMBER" : "CONTRIBUTOR",
      reactions: {
        url: `${api}/reactions`,
        total_count: n % 7,
        "+1": n % 3,
        "-1": 0,
        laugh: 0,
        hooray: n % 2,
        confused: 0,
        heart: n % 4,
        rocket: 0,
        eyes: 0,
      },
      body: `Steps to reproduce issue ${n}.\n\n1. Install the widget from the release page.\n2. Run it against the sample configuration shipped in examples/.\n3. See it fail with the error below.\n\nExpected: the widget starts and serves requests.\nActual: it exits at once. Logs and the full configuration are attached; the problem appeared after upgrading from the previous minor version.`,
    };
  });
}

export function startDemoApi(options: DemoApiOptions = {}): DemoApi {
  const issues = demoIssues(options.issues ?? 250);
  // Kept sorted newest first, as the API lists them; re-sorted only when issues change.
  let sorted = [...issues].sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  const requests: string[] = [];
  const exportRequests: unknown[] = [];
  /** Export jobs by id: the issues updated since the job's `since`, and how often it was polled. */
  const jobs = new Map<number, { issues: Issue[]; polls: number }>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    async fetch(request) {
      const url = new URL(request.url);
      requests.push(url.pathname + url.search);
      if (options.latencyMs) await Bun.sleep(options.latencyMs);
      const exportJob = /^\/repos\/acme\/widgets\/exports(?:\/(\d+)(\/result)?)?$/.exec(url.pathname);
      if (exportJob) return serveExportJob(request, exportJob[1], exportJob[2] !== undefined);
      const match = /^\/repos\/acme\/widgets\/issues(?:\/(\d+)\/comments)?$/.exec(url.pathname);
      if (!match) return Response.json({ message: "Not Found" }, { status: 404 });
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30), 100);
      const page = Math.max(Number(url.searchParams.get("page") ?? 1), 1);
      let items: unknown[];
      if (match[1]) {
        const issue = issues.find((candidate) => candidate.number === Number(match[1]));
        if (!issue) return Response.json({ message: "Not Found" }, { status: 404 });
        items = Array.from({ length: issue.comments }, (_, k) => ({
          id: issue.number * 100 + k,
          body: `Comment ${k + 1} on issue ${issue.number}`,
          user: { login: users[(issue.number + k) % users.length], id: 100 + ((issue.number + k) % users.length) },
          created_at: issue.updated_at,
        }));
      } else {
        const since = url.searchParams.get("since");
        items = since ? sorted.filter((issue) => issue.updated_at >= since) : sorted;
      }
      const pages = Math.max(1, Math.ceil(items.length / perPage));
      const links: string[] = [];
      const link = (p: number, rel: string) => {
        const next = new URL(url);
        next.searchParams.set("page", String(p));
        links.push(`<${next.toString()}>; rel="${rel}"`);
      };
      if (page < pages) link(page + 1, "next");
      link(pages, "last");
      return Response.json(items.slice((page - 1) * perPage, page * perPage), {
        headers: { link: links.join(", "), "x-ratelimit-remaining": "4999", "x-ratelimit-limit": "5000" },
      });
    },
  });
  /** POST exports starts a job; GET exports/{id} is "running" twice, then "done"; exports/{id}/result is NDJSON. */
  async function serveExportJob(request: Request, id: string | undefined, result: boolean): Promise<Response> {
    if (id === undefined) {
      if (request.method !== "POST") return Response.json({ message: "Method Not Allowed" }, { status: 405 });
      const body = (await request.json().catch(() => ({}))) as { since?: unknown };
      exportRequests.push(body);
      const since = typeof body.since === "string" ? body.since : undefined;
      const job = { issues: since ? sorted.filter((issue) => issue.updated_at >= since) : sorted, polls: 0 };
      const jobId = jobs.size + 1;
      jobs.set(jobId, job);
      return Response.json({ id: jobId, status: "running" }, { status: 202 });
    }
    const job = jobs.get(Number(id));
    if (!job) return Response.json({ message: "Not Found" }, { status: 404 });
    if (!result) return Response.json({ id: Number(id), status: ++job.polls > 2 ? "done" : "running", records: job.issues.length });
    if (job.polls <= 2) return Response.json({ message: "The export is not finished" }, { status: 409 });
    const lines = [...job.issues]
      .sort((a, b) => a.updated_at.localeCompare(b.updated_at))
      .map(({ id, number, title, state, user, updated_at }) => JSON.stringify({ id, number, title, state, user: user.login, updated_at }));
    return new Response(lines.map((line) => `${line}\n`).join(""), { headers: { "content-type": "application/x-ndjson" } });
  }

  return {
    url: `http://127.0.0.1:${server.port}/repos/acme/widgets/`,
    requests,
    exportRequests,
    touch(numbers, at) {
      for (const issue of issues) if (numbers.includes(issue.number)) issue.updated_at = at;
      sorted = [...issues].sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    },
    stop: () => server.stop(true),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { issues: { type: "string", default: "250" }, port: { type: "string", default: "0" } } });
  const api = startDemoApi({ issues: Number(values.issues), port: Number(values.port) });
  console.log(api.url);
}
