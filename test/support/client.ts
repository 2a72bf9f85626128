import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Api, GqlError, GqlResponse } from '../../support/graphql-client';
import { LOG_IN, SIGN_UP } from '../../support/operations';

export interface Account {
  api: Api;
  token: string;
  id: string;
  email: string;
}

export async function signUp(api: Api, email = `fan-${randomUUID()}@example.test`, password = 'correct-horse'): Promise<Account> {
  const { signUp: result } = await api.data<{ signUp: { token: string; user: { id: string } } }>(SIGN_UP, { email, password });
  return { api: api.as(result.token), token: result.token, id: result.user.id, email };
}

export async function logIn(api: Api, email: string, password: string): Promise<Account> {
  const { logIn: result } = await api.data<{ logIn: { token: string; user: { id: string } } }>(LOG_IN, { email, password });
  return { api: api.as(result.token), token: result.token, id: result.user.id, email };
}

/** Signs up `count` fans concurrently. */
export function signUpMany(api: Api, count: number): Promise<Account[]> {
  return Promise.all(Array.from({ length: count }, () => signUp(api)));
}

/** A subscription's messages, read one at a time with a deadline. */
export class Feed<T> {
  private readonly buffer: GqlResponse<T>[] = [];
  private waiter?: () => void;
  done = false;
  readonly close: () => void;

  constructor(client: Client, query: string, variables: Record<string, unknown>, operationName?: string) {
    this.close = client.subscribe<T>(
      { query, variables, operationName },
      {
        next: (message) => this.add(message as GqlResponse<T>),
        error: (error) => this.add({ errors: Array.isArray(error) ? (error as GqlError[]) : [{ message: String(error) }] }),
        complete: () => {
          this.done = true;
          this.waiter?.();
        },
      },
    );
  }

  private add(message: GqlResponse<T>) {
    this.buffer.push(message);
    this.waiter?.();
  }

  /** The next message, or an error after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<GqlResponse<T>> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length === 0) {
      if (this.done) throw new Error('subscription completed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.buffer.shift() as GqlResponse<T>;
  }

  /** Reads messages until one satisfies `predicate`; returns it. */
  async until(predicate: (message: GqlResponse<T>) => boolean, timeoutMs = 5000): Promise<GqlResponse<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = await this.next(Math.max(1, deadline - Date.now()));
      if (predicate(message)) return message;
    }
  }

  /** Messages already received and not yet read. */
  pending(): number {
    return this.buffer.length;
  }
}

export function wsClient(wsUrl: string, token?: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}
