/**
 * A trie of topic segments with dedicated `*` and `**` children. Matching a concrete topic walks only the
 * branches that can match, so its cost depends on the topic's length and the wildcard branches present, not on
 * the number of subscriptions. Empty nodes are pruned on removal, so the trie's size is bounded by the live
 * subscriptions.
 */
export interface Marked {
  /** Scratch field used to de-duplicate a value reached through several `**` expansions in one match. */
  matchMark: number
  /** Position in its node's value array (maintained by the trie; O(1) removal by swap). */
  trieSlot?: number
}

class TrieNode<V extends Marked> {
  children: Map<string, TrieNode<V>> | undefined = undefined
  star: TrieNode<V> | undefined = undefined
  globstar: TrieNode<V> | undefined = undefined
  // an array, not a Set: matching iterates it on every uncached publish; removal swaps with the last slot
  values: V[] | undefined = undefined

  isEmpty(): boolean {
    return (
      (this.children === undefined || this.children.size === 0) &&
      this.star === undefined &&
      this.globstar === undefined &&
      (this.values === undefined || this.values.length === 0)
    )
  }
}

export class TopicTrie<V extends Marked> {
  private readonly root = new TrieNode<V>()
  private mark = 0
  size = 0

  insert(segments: ReadonlyArray<string>, value: V): void {
    let node = this.root
    for (const seg of segments) {
      let next: TrieNode<V> | undefined
      if (seg === "*") next = node.star ??= new TrieNode()
      else if (seg === "**") next = node.globstar ??= new TrieNode()
      else {
        node.children ??= new Map()
        next = node.children.get(seg)
        if (next === undefined) node.children.set(seg, (next = new TrieNode()))
      }
      node = next
    }
    // each value is inserted once (callers insert fresh objects), so no duplicate check is needed
    node.values ??= []
    value.trieSlot = node.values.length
    node.values.push(value)
    this.size++
  }

  remove(segments: ReadonlyArray<string>, value: V): boolean {
    const path: TrieNode<V>[] = [this.root]
    let node: TrieNode<V> | undefined = this.root
    for (const seg of segments) {
      node = seg === "*" ? node.star : seg === "**" ? node.globstar : node.children?.get(seg)
      if (node === undefined) return false
      path.push(node)
    }
    const values = node.values
    const i = value.trieSlot ?? -1
    if (values === undefined || values[i] !== value) return false
    const last = values.pop()!
    if (last !== value) {
      values[i] = last
      last.trieSlot = i
    }
    value.trieSlot = -1
    this.size--
    for (let i = segments.length; i > 0 && path[i].isEmpty(); i--) {
      const parent = path[i - 1]
      const seg = segments[i - 1]
      if (seg === "*") parent.star = undefined
      else if (seg === "**") parent.globstar = undefined
      else parent.children!.delete(seg)
    }
    return true
  }

  /** Every value whose pattern matches the concrete `segments`, each once. */
  match(segments: ReadonlyArray<string>): V[] {
    const out: V[] = []
    this.mark = (this.mark + 1) | 0
    this.walk(this.root, segments, 0, out)
    return out
  }

  private collect(node: TrieNode<V>, out: V[]): void {
    const values = node.values
    if (values === undefined) return
    const mark = this.mark
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v.matchMark !== mark) {
        v.matchMark = mark
        out.push(v)
      }
    }
  }

  private walk(node: TrieNode<V>, segs: ReadonlyArray<string>, i: number, out: V[]): void {
    const n = segs.length
    if (i === n) {
      this.collect(node, out)
      // "**" also matches zero segments
      if (node.globstar !== undefined) this.walk(node.globstar, segs, n, out)
      return
    }
    const child = node.children?.get(segs[i])
    if (child !== undefined) this.walk(child, segs, i + 1, out)
    if (node.star !== undefined) this.walk(node.star, segs, i + 1, out)
    const g = node.globstar
    if (g !== undefined) {
      // "**" consumes segs[i..k-1] for every k in i..n
      for (let k = i; k <= n; k++) this.walk(g, segs, k, out)
    }
  }
}
