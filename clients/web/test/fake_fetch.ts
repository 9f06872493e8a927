// A stand-in for the global fetch: answers from a script of routes and records every request it saw.

export interface SeenRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

export type Answer = (request: SeenRequest) => Response | Promise<Response>;

/** JSON with a status, as the API answers. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Replace globalThis.fetch with `answer`; returns the list of requests seen (in order). */
export function installFetch(answer: Answer): SeenRequest[] {
  const seen: SeenRequest[] = [];
  globalThis.fetch = (async (input: string | URL, init: RequestInit = {}) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of new Headers(init.headers).entries()) headers[name] = value;
    const body = init.body === undefined || init.body === null ? null : String(init.body);
    const request = { url: String(input), method: init.method ?? "GET", headers, body };
    seen.push(request);
    return answer(request);
  }) as typeof fetch;
  return seen;
}
