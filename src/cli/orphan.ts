/**
 * Shutting down when our parent dies. `npm start` runs us under `sh -c`; a SIGTERM to npm ends
 * npm and that shell but never reaches us, so we would go on holding the port. Polling the
 * parent pid notices within half a second.
 */

/**
 * Calls `onOrphaned` once if this process's parent exits (it is then re-parented).
 *
 * @example
 * whenOrphaned(() => server.close().then(() => process.exit(0)));
 */
export function whenOrphaned(onOrphaned: () => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
