/** GraphQL over HTTP as a front end speaks it: used by the tests (test/) and by the bench (bench/). */

import { request } from 'node:http';

export interface GqlError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
  path?: (string | number)[];
}

export interface GqlResponse<T> {
  data?: T | null;
  errors?: GqlError[];
}

/** A front end's view of the API: GraphQL over HTTP with an optional bearer token. */
export class Api {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  as(token: string | undefined): Api {
    return new Api(this.url, token);
  }

  async request<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GqlResponse<T>> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GqlResponse<T>;
  }

  /** The data, or a thrown error naming the codes: for calls that must succeed. */
  async data<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const body = await this.request<T>(query, variables);
    if (body.errors?.length || !body.data) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  /** The first error's code: for calls that must fail. */
  async errorCode(query: string, variables: Record<string, unknown> = {}): Promise<string | undefined> {
    const body = await this.request(query, variables);
    if (!body.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(body.data)}`);
    return body.errors[0]?.extensions?.code;
  }
}

/** A POST that says it accepts gzip, read as it comes (fetch would unzip it): the body's encoding and bytes. */
export function postAcceptingGzip(url: string, payload: object, token?: string): Promise<{ encoding?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'accept-encoding': 'gzip', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(payload));
  });
}
