/** Disjoint sets over 0..n-1, grown on demand, with path halving and union by size. */
export class UnionFind {
  private readonly parent: number[] = [];
  private readonly size: number[] = [];

  add(): number {
    const i = this.parent.length;
    this.parent.push(i);
    this.size.push(1);
    return i;
  }

  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]!]!;
      i = p[i]!;
    }
    return i;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }
}
