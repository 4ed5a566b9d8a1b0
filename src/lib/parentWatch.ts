/**
 * Notice when this process's parent exits. A launcher such as `npm exec` / `npx` exits on SIGTERM
 * without passing it on; its child is then re-parented (to init or a subreaper) and would run on as
 * an orphan. Node has no PR_SET_PDEATHSIG, so the parent pid is polled: when it changes, the parent
 * is gone. A process started by init itself (parent pid 1 from the start) never sees a change.
 */
export function watchParent(onGone: (formerParent: number) => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, intervalMs);
  timer.unref(); // never what keeps the process alive
  return () => clearInterval(timer);
}
