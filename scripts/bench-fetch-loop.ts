// The baseline of the throughput benchmark: a bare fetch + JSON.parse loop over the same pages a
// full run reads (Link-header pages of the demo API). Prints the number of records.
//
// Usage: bun scripts/bench-fetch-loop.ts <first page URL>
const first = process.argv[2];
if (!first) throw new Error("usage: bench-fetch-loop.ts <url>");
let url: string | undefined = first;
let records = 0;
while (url) {
  const response: Response = await fetch(url);
  const body = JSON.parse(await response.text()) as unknown[];
  records += body.length;
  url = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
}
console.log(records);
export {};
