/**
 * @module objectstore/keyed-rw-lock
 * A readers-writer lock per name (the local store locks per bucket), inside this process only:
 * commits take it exclusively, opens for reading share it.
 */
/**
 * Per-bucket readers-writer lock inside this process: commits (`run`) are exclusive, opens of an
 * object for reading (`read`) share the lock with each other. Waiters are served in arrival order;
 * readers that arrive together behind a writer go in together after it.
 */
export class KeyedRwLock {
  private readonly states = new Map<
    string,
    { readers: number; writer: boolean; queue: { write: boolean; go: () => void }[] }
  >()

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.with(name, true, fn)
  }

  read<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.with(name, false, fn)
  }

  private async with<T>(name: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    let st = this.states.get(name)
    if (!st) this.states.set(name, (st = { readers: 0, writer: false, queue: [] }))
    const free = write ? !st.writer && st.readers === 0 : !st.writer && st.queue.length === 0
    if (free && st.queue.length === 0) {
      if (write) st.writer = true
      else st.readers++
    } else {
      await new Promise<void>((go) => st.queue.push({ write, go }))
    }
    try {
      return await fn()
    } finally {
      if (write) st.writer = false
      else st.readers--
      this.grant(name, st)
    }
  }

  private grant(
    name: string,
    st: { readers: number; writer: boolean; queue: { write: boolean; go: () => void }[] },
  ): void {
    while (st.queue.length > 0 && !st.writer) {
      const next = st.queue[0]!
      if (next.write) {
        if (st.readers > 0) break
        st.queue.shift()
        st.writer = true
        next.go()
        break
      }
      st.queue.shift()
      st.readers++
      next.go()
    }
    if (!st.writer && st.readers === 0 && st.queue.length === 0) this.states.delete(name)
  }
}
