/**
 * The memslot table both backends keep: slots ordered by base GFN in a
 * balanced tree (AVL), a name map, and KVM's lowest-free slot id. Insert,
 * delete, move, lookup by GFN, overlap check and id allocation are all
 * O(log n), so filling KVM's 32764 slots is linear overall, as the
 * kernel's own memslot tree is (`kvm_memslots` interval tree since 5.17).
 *
 * @module
 */

/** What the index needs of a slot. */
export interface IndexedSlot {
  /** The script's name; unique in a VM. */
  readonly name: string;
  /** KVM's slot id (0: the VMM's system region). */
  readonly id: number;
  /** First guest frame (the key; changes only through {@linkcode SlotIndex.moved}). */
  readonly baseGfn: number;
  /** Size in 4 KiB pages, > 0. */
  readonly npages: number;
}

interface Node<S> {
  key: number;
  slot: S;
  left: Node<S> | null;
  right: Node<S> | null;
  height: number;
}

function height<S>(n: Node<S> | null): number {
  return n === null ? 0 : n.height;
}

function update<S>(n: Node<S>): Node<S> {
  n.height = 1 + Math.max(height(n.left), height(n.right));
  return n;
}

function rotateRight<S>(n: Node<S>): Node<S> {
  const l = n.left!;
  n.left = l.right;
  l.right = update(n);
  return update(l);
}

function rotateLeft<S>(n: Node<S>): Node<S> {
  const r = n.right!;
  n.right = r.left;
  r.left = update(n);
  return update(r);
}

function balance<S>(n: Node<S>): Node<S> {
  update(n);
  const bf = height(n.left) - height(n.right);
  if (bf > 1) {
    if (height(n.left!.left) < height(n.left!.right)) n.left = rotateLeft(n.left!);
    return rotateRight(n);
  }
  if (bf < -1) {
    if (height(n.right!.right) < height(n.right!.left)) n.right = rotateRight(n.right!);
    return rotateLeft(n);
  }
  return n;
}

function insertNode<S>(n: Node<S> | null, add: Node<S>): Node<S> {
  if (n === null) return add;
  if (add.key < n.key) n.left = insertNode(n.left, add);
  else n.right = insertNode(n.right, add);
  return balance(n);
}

function removeMin<S>(n: Node<S>): [Node<S> | null, Node<S>] {
  if (n.left === null) return [n.right, n];
  const [rest, min] = removeMin(n.left);
  n.left = rest;
  return [balance(n), min];
}

function removeNode<S>(n: Node<S> | null, key: number): Node<S> | null {
  if (n === null) return null;
  if (key < n.key) n.left = removeNode(n.left, key);
  else if (key > n.key) n.right = removeNode(n.right, key);
  else {
    if (n.left === null) return n.right;
    if (n.right === null) return n.left;
    const [rest, min] = removeMin(n.right);
    min.right = rest;
    min.left = n.left;
    return balance(min);
  }
  return balance(n);
}

/** A binary min-heap of freed slot ids, so the lowest free id is O(log n). */
class IdHeap {
  #a: number[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): number {
    return this.#a[0];
  }

  push(v: number): void {
    const a = this.#a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i, mv = last;
        if (l < a.length && a[l] < mv) (m = l, mv = a[l]);
        if (r < a.length && a[r] < mv) (m = r, mv = a[r]);
        if (m === i) break;
        a[i] = a[m];
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Slots ordered by base GFN, by name, and the ids in use.
 *
 * @typeParam S the backend's slot type
 */
export class SlotIndex<S extends IndexedSlot> {
  #root: Node<S> | null = null;
  #nodes = new Map<S, Node<S>>();
  #byName = new Map<string, S>();
  #ordered: S[] | null = [];
  /** Every id below this is in use or in #freed. */
  #nextId = 0;
  #freed = new IdHeap();

  /** Number of slots (system region included). */
  get size(): number {
    return this.#nodes.size;
  }

  /** The slots in GPA order (rebuilt after a change, on demand). */
  ordered(): readonly S[] {
    if (this.#ordered === null) {
      const out: S[] = [];
      const walk = (n: Node<S> | null): void => {
        if (n === null) return;
        walk(n.left);
        out.push(n.slot);
        walk(n.right);
      };
      walk(this.#root);
      this.#ordered = out;
    }
    return this.#ordered;
  }

  /** The slot named `name`, or undefined. */
  byName(name: string): S | undefined {
    return this.#byName.get(name);
  }

  /** The slot with the highest base GFN ≤ `gfn`, or null. */
  #floor(gfn: number): S | null {
    let n = this.#root, best: S | null = null;
    while (n !== null) {
      if (n.key <= gfn) {
        best = n.slot;
        n = n.right;
      } else n = n.left;
    }
    return best;
  }

  /** The slot containing `gfn`, or null. */
  find(gfn: number): S | null {
    const s = this.#floor(gfn);
    return s !== null && gfn < s.baseGfn + s.npages ? s : null;
  }

  /**
   * The slot other than `except` overlapping `[baseGfn, baseGfn + npages)`,
   * or null. Slots never overlap one another, so only the last slot starting
   * before the range's end (or, when that is `except`, the one before it)
   * can reach into it.
   */
  overlapping(baseGfn: number, npages: number, except: S | null = null): S | null {
    let c = this.#floor(baseGfn + npages - 1);
    if (c !== null && c === except) c = this.#floor(c.baseGfn - 1);
    return c !== null && c.baseGfn + c.npages > baseGfn ? c : null;
  }

  /** The id {@linkcode SlotIndex.insert} would give a new slot: KVM users take the lowest free one. */
  peekId(): number {
    return this.#freed.size > 0 ? this.#freed.peek() : this.#nextId;
  }

  /** Add a slot (its id and name must be free, its range must not overlap). */
  insert(slot: S): void {
    if (this.#freed.size > 0 && this.#freed.peek() === slot.id) this.#freed.pop();
    else if (slot.id === this.#nextId) this.#nextId++;
    else throw new Error(`slot id ${slot.id} is not the next free id ${this.peekId()}`);
    const node: Node<S> = { key: slot.baseGfn, slot, left: null, right: null, height: 1 };
    this.#root = insertNode(this.#root, node);
    this.#nodes.set(slot, node);
    this.#byName.set(slot.name, slot);
    this.#ordered = null;
  }

  /** Remove a slot; its id and name become free. */
  remove(slot: S): void {
    const node = this.#nodes.get(slot);
    if (node === undefined) return;
    this.#root = removeNode(this.#root, node.key);
    this.#nodes.delete(slot);
    this.#byName.delete(slot.name);
    this.#freed.push(slot.id);
    this.#ordered = null;
  }

  /** Re-key a slot whose `baseGfn` changed (a move). */
  moved(slot: S): void {
    const node = this.#nodes.get(slot);
    if (node === undefined || node.key === slot.baseGfn) return;
    this.#root = removeNode(this.#root, node.key);
    const fresh: Node<S> = { key: slot.baseGfn, slot, left: null, right: null, height: 1 };
    this.#root = insertNode(this.#root, fresh);
    this.#nodes.set(slot, fresh);
    this.#ordered = null;
  }

  /** Drop every slot and free every id. */
  clear(): void {
    this.#root = null;
    this.#nodes.clear();
    this.#byName.clear();
    this.#ordered = [];
    this.#nextId = 0;
    this.#freed = new IdHeap();
  }
}
