// Starting points written by `restload init`: a pipeline file and its secrets file per template.

export interface Template {
  readonly pipeline: string;
  readonly secrets: string;
  /** Code the pipeline calls (a module resource), written beside it. */
  readonly module?: { readonly file: string; readonly text: string };
  /** What to do before the first check, printed after writing. */
  readonly next: string;
}

const github: Template = {
  pipeline: `# The GitHub issues of a repository and their comments (dlt's rest_api GitHub example).
[pipeline]
name = "github"
dataset = "github_data"
# database = "github.duckdb"        # relative to this file, or to $STATE_DIRECTORY under systemd

[client]
base_url = "https://api.github.com/repos/dlt-hub/dlt/"
auth = { type = "bearer", token = { secret = "github_token" } }
paginator = "header_link"

[resource_defaults]
primary_key = "id"
write_disposition = "merge"
endpoint.params.per_page = 100

[[resources]]
name = "issues"
endpoint.path = "issues"
endpoint.params.sort = "updated"
endpoint.params.direction = "desc"
endpoint.params.state = "open"
endpoint.params.since = { type = "incremental", cursor_path = "updated_at", initial_value = "2024-01-25T11:21:28Z" }

[[resources]]
name = "issue_comments"
endpoint.path = "issues/{resources.issues.number}/comments"
include_from_parent = ["id"]
`,
  secrets: `# Secrets of pipeline.toml. Keep this file private (mode 600); never commit it.
# RESTLOAD_SECRET_GITHUB_TOKEN in the environment, or a systemd credential named github_token,
# take precedence over this file.
[github]
# github_token = "github_pat_..."
`,
  next: "put a GitHub token into secrets.toml (github_token)",
};

const pokeapi: Template = {
  pipeline: `# PokeAPI: the list of all pokemon, then each pokemon's details. Public, no auth.
[pipeline]
name = "pokeapi"

[client]
base_url = "https://pokeapi.co/api/v2/"

[resource_defaults]
write_disposition = "replace"

[[resources]]
name = "pokemon_list"
primary_key = "name"
endpoint.path = "pokemon"
endpoint.params.limit = 100
endpoint.data_selector = "results"
endpoint.paginator = { type = "json_link", next_url_path = "next" }

[[resources]]
name = "pokemon"
primary_key = "id"
endpoint.path = "pokemon/{resources.pokemon_list.name}"
endpoint.paginator = "single_page"
`,
  secrets: `# Secrets of pipeline.toml. PokeAPI needs none; keep this file private (mode 600) if you add any.
`,
  next: "nothing: PokeAPI needs no credentials",
};

const generic: Template = {
  pipeline: `# A starting point for any JSON API. Every key is explained in restload's README.
[pipeline]
name = "my_api"
# dataset = "my_api_dataset"        # DuckDB schema of the tables
# database = "my_api.duckdb"        # relative to this file, or to $STATE_DIRECTORY under systemd

[client]
base_url = "https://api.example.com/v1/"
auth = { type = "bearer", token = { secret = "api_token" } }
# paginator = "auto"                # detected from the first response; check --probe shows it

[resource_defaults]
primary_key = "id"
write_disposition = "merge"

[[resources]]
name = "users"
endpoint.path = "users"
endpoint.paginator = { type = "offset", limit = 100, total_path = "total" }

[[resources]]
name = "user_orders"
endpoint.path = "users/{resources.users.id}/orders"
include_from_parent = ["id"]
`,
  secrets: `# Secrets of pipeline.toml. Keep this file private (mode 600); never commit it.
[my_api]
# api_token = "..."
`,
  next: "set base_url and resources in pipeline.toml and api_token in secrets.toml",
};

const exportJob: Template = {
  pipeline: `# A SaaS API behind OAuth2 (the refresh-token grant of Google, Salesforce, HubSpot, Xero and the
# like) whose contacts come from an asynchronous export job: no declarative endpoint fits "ask for
# an export, poll it, read its NDJSON", so export.ts does it with ctx.fetch (restload's HTTP client:
# base_url, auth, retries, rate limits). restload loads what it yields, keeps the cursor and merges
# on the key like any resource's.
[pipeline]
name = "my_saas"
# database = "my_saas.duckdb"       # relative to this file, or to $STATE_DIRECTORY under systemd

[client]
base_url = "https://api.example.com/v1/"
# A rotated refresh token is kept beside the database (<database>.tokens/, mode 600) for the next runs.
auth = { type = "oauth2_refresh_token", access_token_url = "https://auth.example.com/oauth/token", client_id = { secret = "client_id" }, client_secret = { secret = "client_secret" }, refresh_token = { secret = "refresh_token" } }

[[resources]]
name = "contacts"
module = "./export.ts"
export = "contacts"
primary_key = "id"
write_disposition = "merge"
# The export is asked for what changed since the stored cursor (ctx.incremental.start_value).
incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z", row_order = "asc" }

# A module resource is a parent like any other.
[[resources]]
name = "contact_notes"
endpoint.path = "contacts/{resources.contacts.id}/notes"
primary_key = "id"
write_disposition = "merge"
include_from_parent = ["id"]
`,
  secrets: `# Secrets of pipeline.toml. Keep this file private (mode 600); never commit it.
# RESTLOAD_SECRET_<NAME> in the environment, or systemd credentials, take precedence over this file.
[my_saas]
# client_id = "..."
# client_secret = "..."
# refresh_token = "..."             # from the provider's consent flow, once
`,
  module: {
    file: "export.ts",
    text: `// The contacts of pipeline.toml: start an export job, poll it until it is done, read its NDJSON
// result and yield the records a batch at a time. Adapt the paths and fields to your API.

interface Context {
  fetch(input: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Response>;
  readonly incremental: { start_value: unknown } | null;
  log(message: string): void;
  sleep(ms: number): Promise<void>;
  parseJson(text: string): unknown;
}

export async function* contacts(ctx: Context): AsyncGenerator<unknown[]> {
  const since = ctx.incremental?.start_value;
  const started = await ctx.fetch("exports", { method: "POST", body: JSON.stringify({ object: "contacts", since }) });
  const { id } = (await started.json()) as { id: string };
  ctx.log(\`export \${id} started\`);
  // A 429 or 5xx while polling is retried by ctx.fetch; other failures throw and fail the unit.
  for (;;) {
    const job = (await (await ctx.fetch(\`exports/\${id}\`)).json()) as { status: string };
    if (job.status === "done") break;
    if (job.status !== "running") throw new Error(\`export \${id} ended with status \${job.status}\`);
    await ctx.sleep(1000);
  }
  let batch: unknown[] = [];
  for (const line of (await (await ctx.fetch(\`exports/\${id}/result\`)).text()).split("\\n")) {
    if (line.trim() === "") continue;
    batch.push(ctx.parseJson(line)); // keeps IDs beyond 2^53 exact
    if (batch.length === 1000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
`,
  },
  next: "set base_url, access_token_url and the export paths, and client_id, client_secret and refresh_token in secrets.toml",
};

export const templates = { github, pokeapi, generic, "export-job": exportJob } as const;
export type TemplateName = keyof typeof templates;
