// The one place that talks to the API: the key, JSON, the shared error shape, streams.
import { askForKey, currentKey, forgetKey } from "./auth.js";
import { readEvents } from "./sse.js";

/** An error from the API (or from getting there), always with words to show. */
export class ApiError extends Error {
  constructor({ status = 0, code, message, details = null, messageId = null }) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    // The tutor message that failed, when there is one to retry.
    this.messageId = messageId ?? details?.message_id ?? null;
  }
}

const STATUS_WORDS = {
  413: "That is too large for Tutor to take.",
  429: "Too many requests: wait a moment and try again.",
  502: "Tutor's server could not reach the model.",
  503: "Tutor is not ready: try again in a moment.",
  504: "Tutor's server took too long to answer.",
};

async function errorFrom(response) {
  const body = await response.json().catch(() => null);
  if (body?.error?.message) {
    return new ApiError({ status: response.status, ...body.error });
  }
  const message =
    STATUS_WORDS[response.status] ?? `The server answered ${response.status} ${response.statusText}.`;
  return new ApiError({ status: response.status, code: "http_error", message });
}

function networkError(cause) {
  if (cause?.name === "AbortError") return cause;
  return new ApiError({
    code: "network_error",
    message: "Tutor could not be reached. Check that `tutor serve` is running, then try again.",
  });
}

async function send(method, path, { json, form, headers = {}, signal } = {}) {
  for (;;) {
    const key = currentKey();
    if (!key) {
      await askForKey("Paste the API key that `tutor serve` or `tutor learner add` printed.");
      continue;
    }
    const init = { method, signal, headers: { Authorization: `Bearer ${key}`, ...headers } };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form !== undefined) {
      init.body = form;
    }
    let response;
    try {
      response = await fetch(`v1/${path}`, init);
    } catch (cause) {
      throw networkError(cause);
    }
    if (response.status === 401) {
      forgetKey();
      const error = await errorFrom(response);
      await askForKey(`That key was refused (${error.message}). Paste a valid key.`);
      continue;
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }
}

async function json(method, path, options) {
  const response = await send(method, path, options);
  return response.status === 204 ? null : response.json();
}

export const api = {
  get: (path, options) => json("GET", path, options),
  post: (path, body, options) => json("POST", path, { ...options, json: body ?? {} }),
  patch: (path, body, options) => json("PATCH", path, { ...options, json: body }),
  delete: (path, options) => json("DELETE", path, options),
  upload: (path, form, options) => json("POST", path, { ...options, form }),

  /** A file the API sends as an attachment: `{blob, filename}`. */
  async download(path, options) {
    const response = await send("GET", path, options);
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? "download";
    return { blob: await response.blob(), filename };
  },

  /**
   * POSTs and reads the answer as Server-Sent Events: `onDelta(text)` for each piece,
   * resolves with the `done` event's data, throws ApiError for an `error` event, and
   * for a stream that ends without either.
   */
  async stream(path, body, { onDelta, signal } = {}) {
    const response = await send("POST", path, {
      json: body,
      signal,
      headers: { Accept: "text/event-stream" },
    });
    try {
      for await (const { event, data } of readEvents(response.body)) {
        const payload = JSON.parse(data);
        if (event === "delta") onDelta?.(payload.text);
        else if (event === "done") return payload;
        else if (event === "error") {
          throw new ApiError({ status: 200, ...payload.error, messageId: payload.message_id });
        }
      }
    } catch (cause) {
      if (cause instanceof ApiError || cause?.name === "AbortError") throw cause;
      throw networkError(cause);
    }
    throw new ApiError({
      code: "stream_cut",
      message: "The connection broke before the answer was finished.",
    });
  },
};

/** Every page of a cursor-paged list, up to `max` items. */
export async function listAll(path, { max = 1000, signal } = {}) {
  const items = [];
  let cursor = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const query = cursor ? `${separator}cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api.get(`${path}${query}`, { signal });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** A session named after its source: a source's title may be longer (300) than a session's (200). */
export function sessionTitleFrom(sourceTitle) {
  return sourceTitle.slice(0, 200);
}
