/** Ring: the most recent `capacity` items, in order; older ones are overwritten, and counted. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private length = 0;
  /** items pushed out to make room */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity: expected an integer ≥ 1, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.length;
  }

  push(item: T): void {
    if (this.length < this.capacity) {
      this.items[(this.start + this.length++) % this.capacity] = item;
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    this.dropped++;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }
}
