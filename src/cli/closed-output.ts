/**
 * A reader that goes away mid-command (`crypto-etl run | head -1`, a log pipe that closed) must not stop the
 * work: Node ends the process at the first write after EPIPE, which left a load half-done across datasets and
 * its run `running`. Instead, the rest of that stream's output is dropped, and the command finishes, records
 * its run and exits as it would have.
 */
let installed = false

/** Makes EPIPE on stdout or stderr drop the output instead of ending the process (once per process). */
export function keepWorkingWhenReadersLeave(): void {
  if (installed) return
  installed = true
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
    })
  }
}
