// The pages' shell: inline CSS, and a small inline script that keeps the content current in place
// (it fetches the same page's content every 2 s and swaps it in, so scrolling and the page stay put).
// No external assets: it works offline.

export function escapeHtml(text: unknown): string {
  return String(text ?? "").replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** `path` with the page's token appended when one is in use (links must carry it). */
export function link(path: string, token: string | null): string {
  return token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
}

/** "42 s ago", "5 min ago", "3 h ago", "2 days ago", or "never". */
export function ago(iso: string | null, now: number): string {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129_600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** A time as `<time>`: the UTC timestamp, and how long ago it was. */
export function when(iso: string | null, now: number): string {
  if (!iso) return `<span class="muted">never</span>`;
  const text = iso.replace(/\.\d{3}Z$/, "Z");
  return `<time datetime="${escapeHtml(text)}">${escapeHtml(text)}</time> <span class="muted">(${escapeHtml(ago(iso, now))})</span>`;
}

/** A duration for display: "320 ms" under a second, else "3.2 s"; "" when unknown. */
export function duration(seconds: number | null): string {
  if (seconds === null) return "";
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;
}

/** The query parameter asking for a page's content only (what the script fetches). */
export const contentPart = "main";

/** A whole page around `content`; the script refreshes `content` in place. */
export function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><main id="content">${content}</main><p id="refresh-problem" class="muted" role="status"></p><script>${script}</script></body></html>`;
}

// internal

const style = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d232a;background:#f6f7f9}
h1{font-size:20px;margin:0 0 16px}h2{font-size:16px;margin:0 0 8px}h3{font-size:14px;margin:12px 0 4px}a{color:#0b5cad}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px;margin:0 0 16px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.succeeded,.committed,.ok{background:#1f883d}.failed,.unfinished{background:#cf222e}.interrupted{background:#9a6700}.running{background:#0969da}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}th{color:#57606a;font-weight:600}
.error{color:#cf222e;white-space:pre-wrap;margin:4px 0}.hint{margin:4px 0}.muted{color:#57606a}.num{text-align:right;font-variant-numeric:tabular-nums}
.failure{border-left:3px solid #cf222e;padding:2px 0 2px 10px;margin:8px 0}.failure code{font-weight:600}
.context th{font-weight:normal}.last-export{margin:8px 0}.export th{font-weight:normal}.note{color:#9a6700}#refresh-problem:empty{display:none}`;

// Fetches `?part=main` of the page it is on (the token, if any, is in its URL) and swaps the content
// in when it changed; <details> left open stay open. A failed fetch is said once, then retried.
const script = `(() => {
  const content = document.getElementById("content");
  const problem = document.getElementById("refresh-problem");
  let previous = null;
  let busy = false;
  const refresh = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const url = new URL(location.href);
      url.searchParams.set("part", ${JSON.stringify(contentPart)});
      const response = await fetch(url, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const text = await response.text();
      if (text !== previous) {
        const open = Array.from(content.querySelectorAll("details[open][id]"), (details) => details.id);
        content.innerHTML = text;
        for (const id of open) document.getElementById(id)?.setAttribute("open", "");
        previous = text;
      }
      problem.textContent = "";
    } catch (error) {
      problem.textContent = "Could not update the page (" + error.message + "); retrying.";
    } finally {
      busy = false;
    }
  };
  setInterval(refresh, 2000);
})();`;
