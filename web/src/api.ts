// The HTTP API of DESIGN §2, under /api on the page's own origin, with the session cookie.

export const API = "/api";

/** Thumbnails per page of the history and the feed: two screens of a phone. */
export const PAGE_SIZE = 12;

export interface User {
  id: string;
  email: string;
  name: string | null;
  credits: number;
  createdAt: string;
}

export interface Session {
  user: User;
  token: string;
  expiresAt: string;
}

export interface ShareLinks {
  page: string;
  x: string;
  facebook: string;
  pinterest: string;
  reddit: string;
}

export interface Image {
  id: string;
  prompt: string;
  model: string;
  style: string;
  preset: string;
  quality: string;
  width: number;
  height: number;
  tags: string[];
  visibility: "private" | "public";
  likes: number;
  likedByMe: boolean;
  createdAt: string;
  jobId: string | null;
  urls: { image: string; thumbnail: string; original: string | null };
  share: ShareLinks | null;
  /** The studio's fields (DESIGN §10); absent from servers before it. */
  format?: "jpeg" | "webp" | "png";
  background?: "auto" | "opaque" | "transparent";
  remixOf?: string | null;
  edited?: boolean;
  /** The first source of an edit (DESIGN §10 keeps it; the field's name is not in §2 yet). */
  editedFrom?: SourceRef | null;
  sourceId?: string | null;
}

/** A source of an edit: an own or public image, or an upload. */
export type SourceRef = { image: string } | { upload: string };

/** `POST /uploads`: a presigned upload, sent exactly as it says. */
export interface Upload {
  id: string;
  url: string;
  method: "POST" | "PUT";
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  expiresAt: string;
}

/** `GET /images/archive/{id}`. */
export interface Archive {
  id: string;
  status: "pending" | "ready" | "failed";
  url?: string | null;
  count: number;
  bytes?: number | null;
}

export interface Job {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed";
  request: {
    prompt: string;
    model: string;
    style: string;
    preset: string;
    quality: string;
    count: number;
    tags: string[];
    width?: number;
    height?: number;
    sources?: SourceRef[];
    remixOf?: string | null;
  };
  cost: number;
  refunded: number;
  images: Image[];
  previews?: { index: number; url: string }[];
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

export interface Quality {
  id: string;
  name: string;
  credits: number;
}

export interface Tier {
  id: string;
  name: string;
  description: string;
  maxImages: number;
  qualities: Quality[];
  styles: { id: string; name: string }[];
  /** The studio's options (DESIGN §10); absent from servers before it. */
  backgrounds?: string[];
  formats?: string[];
  customSize?: { min: number; max: number; maxRatio: number } | null;
  /** `credits` per edited image, by quality id (or one number for every quality). */
  edits?: { maxSources: number; mask: boolean; credits: Record<string, number> | number } | null;
}

export interface Preset {
  id: string;
  name: string;
  platforms: string[];
  width: number;
  height: number;
}

export interface Catalog {
  tiers: Tier[];
  presets: Preset[];
}

export interface Pack {
  id: string;
  credits: number;
  amount: number;
  currency: string;
}

export interface Purchase {
  sessionId: string;
  pack: string;
  credits: number;
  amount: number;
  currency: string;
  status: "pending" | "paid" | "failed" | "refunded" | "disputed";
  createdAt: string;
}

/** `GET /billing/purchases/{sessionId}`: a purchase, checked with Stripe when pending. */
export interface PurchaseLookup extends Purchase {
  /** `false` when the purchase is pending and Stripe could not be asked just now. */
  confirmedWithStripe: boolean;
}

export interface LedgerEntry {
  id: string;
  delta: number;
  reason: string;
  reference: string | null;
  balanceAfter: number;
  createdAt: string;
}

export interface Listing<T> {
  items: T[];
  nextCursor: string | null;
}

export interface FieldError {
  field: string;
  message: string;
}

/** An API error: the problem details' `code`, `detail` and per-field `errors`. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly requestId: string | null = null,
    readonly retryAfter: number | null = null,
  ) {
    super(detail);
  }

  field(name: string): string | undefined {
    return this.errors.find((e) => e.field === name)?.message;
  }
}

type Listener = () => void;
const unauthorizedListeners: Listener[] = [];
/** Called when the API says the session is gone (401). */
export function onUnauthorized(listener: Listener): void {
  unauthorizedListeners.push(listener);
}

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, headers: { accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new Problem(0, "network", "The server cannot be reached. Check your connection and try again.");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (response.ok) return json as T;
  const p = (json ?? {}) as Partial<{ code: string; detail: string; errors: FieldError[]; requestId: string }>;
  const retry = Number(response.headers.get("retry-after"));
  const problem = new Problem(
    response.status,
    p.code ?? (response.status >= 500 ? "internal" : "error"),
    p.detail ?? response.statusText,
    Array.isArray(p.errors) ? p.errors : [],
    p.requestId ?? response.headers.get("x-request-id"),
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
  if (response.status === 401 && (problem.code === "unauthorized" || problem.code === "token_expired")) {
    for (const l of unauthorizedListeners) l();
  }
  throw problem;
}

export const get = <T>(path: string) => api<T>("GET", path);

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "" && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function downloadUrl(id: string, variant: "preset" | "original" | "thumbnail" = "preset"): string {
  return `${API}/images/${encodeURIComponent(id)}/download?variant=${variant}`;
}

export function money(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}

export { ratio } from "./pure/sizes";
