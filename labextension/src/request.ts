import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IApiError } from './model';

/** An API error with the server's JSON body (code, message, hint). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: IApiError
  ) {
    super(body.message);
  }
}

/**
 * Call the vl_jupyter server extension. Goes through ServerConnection.makeRequest,
 * which adds the server's token and the XSRF header (a bare fetch would get 403).
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  query: { [key: string]: string | undefined } = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') {
      params.set(key, value);
    }
  }
  const search = params.toString();
  const url =
    URLExt.join(settings.baseUrl, 'vl-jupyter', 'api', endPoint) + (search ? `?${search}` : '');

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(0, {
      code: 'NETWORK',
      message: 'the Jupyter server did not answer',
      hint: String(error)
    });
  }
  const text = await response.text();
  let data: any = text;
  try {
    data = text.length ? JSON.parse(text) : {};
  } catch {
    // not JSON (a proxy's error page, say): report the text
  }
  if (!response.ok) {
    const body: IApiError =
      data && typeof data === 'object' && data.message
        ? data
        : {
            code: `HTTP_${response.status}`,
            message:
              response.status === 404
                ? 'the vl_jupyter server extension is not enabled on this server'
                : `the server answered ${response.status}`,
            hint:
              response.status === 404
                ? 'run `jupyter server extension enable vl_jupyter` and restart'
                : null
          };
    throw new ApiError(response.status, body);
  }
  return data as T;
}
