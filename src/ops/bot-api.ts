/**
 * The CLI's own Bot API calls (doctor's getMe, `telegram whoami`'s getUpdates). The telegram service talks to
 * Telegram through telegraf; these run in the one-shot CLI, without a bot loop, and need only one request each.
 *
 * An answer is returned whatever its status (the caller decides what 401, 409 or 429 mean for it); a body that is
 * not the Bot API's JSON counts as `{}`. Only a request that got no answer at all (refused, reset, timed out)
 * throws, as `BotApiUnreachable`. The token is redacted out of the error's message and the answer's description
 * (they may echo the URL, which carries it).
 */
import { errorMessage } from '../shared/errors';
import { Redactor } from '../shared/logging/redact';

export interface BotApiTarget {
  /** Bot API root (`https://api.telegram.org`, or an emulator's). */
  apiRoot: string;
  token: string;
  /** HTTP client (default global fetch). */
  fetch?: typeof fetch;
}

export interface BotApiAnswer<T> {
  status: number;
  ok: boolean;
  result?: T;
  description?: string;
}

export class BotApiUnreachable extends Error {
  override readonly name = 'BotApiUnreachable';
}

export async function callBotApi<T>(
  target: BotApiTarget,
  method: string,
  params: Record<string, unknown> | undefined,
  timeoutMs: number,
): Promise<BotApiAnswer<T>> {
  const url = `${target.apiRoot.replace(/\/$/, '')}/bot${target.token}/${method}`;
  const init: RequestInit = params
    ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) }
    : {};
  const redactor = new Redactor([target.token]);
  let res: Response;
  try {
    res = await (target.fetch ?? fetch)(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new BotApiUnreachable(redactor.redactString(errorMessage(err)));
  }
  const body = (await res.json().catch(() => ({}))) as {
    ok?: unknown;
    result?: T;
    description?: unknown;
  };
  return {
    status: res.status,
    ok: res.status === 200 && body.ok === true,
    ...(body.result !== undefined ? { result: body.result } : {}),
    ...(typeof body.description === 'string' ? { description: redactor.redactString(body.description) } : {}),
  };
}
