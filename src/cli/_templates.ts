// Starting points written by `restload init`: a pipeline file and its secrets file per template.

export interface Template {
  readonly pipeline: string;
  readonly secrets: string;
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

export const templates = { github, pokeapi, generic } as const;
export type TemplateName = keyof typeof templates;
