/** Buffers a task's output may hand to the main thread without copying (registered by the task itself). */
const transfers = new WeakMap<object, ArrayBuffer[]>();

/** Marks an output's buffers to be transferred when it goes back from a worker (a no-op when run inline). */
export function withTransfer<T extends object>(output: T, buffers: ArrayBuffer[]): T {
  transfers.set(output, buffers);
  return output;
}

/** The buffers registered for an output (runWorkerTask moves them). */
export function transfersOf(output: object): ArrayBuffer[] | undefined {
  return transfers.get(output);
}
