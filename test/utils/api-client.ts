import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** sent as is, with `content-type: application/json` unless `headers` say otherwise */
  rawBody?: string | Buffer;
  token?: string;
  headers?: Record<string, string>;
  /** read the body of error answers only (a 200 from a streaming route can exceed a string) */
  errorBodyOnly?: boolean;
}

/** The body of an error response in the contract's shape, for `toEqual`. */
export function errorBody(statusCode: number, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode], message, requestId: expect.any(String) };
}

/** A user made through the API, with a token to act as them. */
export interface TestUser {
  id: number;
  email: string;
  password: string;
  name: string;
  token: string;
}

/** Minimal HTTP client for e2e tests: real requests over loopback with `fetch`. */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Buffer | undefined = options.rawBody;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (
      body !== undefined &&
      !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
    ) {
      headers['content-type'] = 'application/json';
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body });
    if (options.errorBodyOnly && response.status < 400) {
      await response.body?.cancel();
      return { status: response.status, headers: response.headers, body: '' as T, text: '' };
    }
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('application/json') && text !== '') {
      parsed = JSON.parse(text);
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, options);
  }

  post<T = any>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>('POST', path, { ...options, body });
  }

  patch<T = any>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>('PATCH', path, { ...options, body });
  }

  put<T = any>(path: string, options?: RequestOptions) {
    return this.request<T>('PUT', path, options);
  }

  delete<T = any>(path: string, options?: RequestOptions) {
    return this.request<T>('DELETE', path, options);
  }

  /** Registers a fresh user (unique email) and logs them in. */
  async createUser(name = 'Test User'): Promise<TestUser> {
    const email = `user-${randomUUID()}@example.test`;
    const password = `pw-${randomUUID()}`;
    const registered = await this.post('/api/auth/register', { email, password, name });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.text}`);
    const login = await this.post('/api/auth/login', { email, password });
    if (login.status !== 200) throw new Error(`login failed: ${login.text}`);
    return { id: registered.body.id, email, password, name, token: login.body.accessToken };
  }
}
