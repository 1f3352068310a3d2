/** Where a job is, as a share of a progress bar: queued, running (further with each partial
 * image the provider streamed), finished. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed";

/** The worker asks for 2 partial images per job (DESIGN §10). */
export const EXPECTED_PREVIEWS = 2;

export function jobProgress(status: JobStatus, previews: number): number {
  switch (status) {
    case "queued":
      return 10;
    case "running":
      return 30 + Math.round((60 * Math.min(previews, EXPECTED_PREVIEWS)) / EXPECTED_PREVIEWS);
    default:
      return 100;
  }
}

export function finished(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed";
}
