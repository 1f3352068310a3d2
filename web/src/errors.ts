// Problems as people expect to read them: what happened and what to do.

import { Problem } from "./api";
import { h, type Child } from "./dom";

export function explain(error: unknown): Child {
  if (!(error instanceof Problem)) {
    return "Something went wrong in the page. Reload it and try again.";
  }
  switch (error.code) {
    case "insufficient_credits":
      return [`Not enough credits: ${error.detail}. `, h("a", { href: "/credits" }, "Buy credits"), " to go on."];
    case "content_policy_violation":
      return "The image provider refused this prompt under its content policy. Rephrase it: leave out real people's names, violence, adult or hateful content, and trademarked characters, then try again. Your credits were refunded.";
    case "provider_unavailable":
      return "The image provider is unavailable right now. Try again in a minute; your credits were refunded if nothing was made.";
    case "generation_failed":
      return "The images could not be made. Your credits were refunded; try again.";
    case "daily_quota_exceeded":
      return "You have made as many images as one day allows. Your quota starts again at midnight UTC; nothing was charged.";
    case "generation_paused":
      return "Image generation is paused for today because the service reached its daily budget. It resumes at midnight UTC; nothing was charged.";
    case "rate_limited":
    case "too_many_attempts":
      return `Too many attempts. Wait ${error.retryAfter ? `${Math.ceil(error.retryAfter / 60)} minute(s)` : "a moment"} and try again.`;
    case "unauthorized":
    case "token_expired":
      return ["Your session has ended. ", h("a", { href: `/login?next=${encodeURIComponent(location.pathname + location.search)}` }, "Log in"), " again."];
    case "upload_invalid":
      return `An image could not be used: ${error.errors[0]?.message ?? error.detail}. Use a PNG, JPEG or WebP image up to 20 MB and 4096 px a side; nothing was charged.`;
    case "mask_mismatch":
      return "The mask does not fit the image being edited (it must have the same pixel size). Clear it and paint it again; nothing was charged.";
    case "archive_too_large":
      return "A ZIP holds at most 100 images. Select fewer and try again.";
    case "account_deleted":
      return "This account has been deleted.";
    case "not_found":
      return "This does not exist (any more), or it is not yours.";
    case "network":
      return error.detail;
    case "validation_failed":
      return error.errors.length ? error.errors.map((e) => `${e.field}: ${e.message}`).join("; ") : error.detail;
    default:
      if (error.status >= 500) {
        return `Something went wrong on our side. Try again in a moment${error.requestId ? ` (request ${error.requestId})` : ""}.`;
      }
      return error.detail || "The request was refused.";
  }
}
