import type { SchemaElement } from 'hyparquet';

// Hugging Face `dataset_info.features` derived from the Parquet schema the shards are written with,
// so the dataset card can never disagree with the files.

export type HfFeature = { name: string } & ({ dtype: string } | { list: string | HfFeature[] } | { struct: HfFeature[] });

interface Node {
  el: SchemaElement;
  children: Node[];
}

/** Rebuilds the tree from Parquet's flat, depth-first schema list. */
function toTree(schema: readonly SchemaElement[]): Node {
  let i = 0;
  const take = (): Node => {
    const el = schema[i++]!;
    const children: Node[] = [];
    for (let c = 0; c < (el.num_children ?? 0); c++) children.push(take());
    return { el, children };
  };
  return take();
}

function dtype(el: SchemaElement): string {
  switch (el.type) {
    case 'BYTE_ARRAY':
      return el.converted_type === 'UTF8' ? 'string' : 'binary';
    case 'BOOLEAN':
      return 'bool';
    case 'DOUBLE':
      return 'float64';
    case 'FLOAT':
      return 'float32';
    case 'INT64':
      return 'int64';
    case 'INT32':
      return el.converted_type === 'INT_8' ? 'int8' : 'int32';
    default:
      throw new Error(`no Hugging Face dtype for Parquet type ${String(el.type)} (${el.name})`);
  }
}

/** The feature body of one node: a primitive dtype, a list (of a dtype or of struct fields) or a struct. */
function body(node: Node): { dtype: string } | { list: string | HfFeature[] } | { struct: HfFeature[] } {
  if (node.el.converted_type === 'LIST') {
    const element = node.children[0]!.children[0]!; // <name> (LIST) -> repeated group list -> element
    if (element.children.length === 0) return { list: dtype(element.el) };
    return { list: element.children.map(feature) };
  }
  if (node.children.length > 0) return { struct: node.children.map(feature) };
  return { dtype: dtype(node.el) };
}

function feature(node: Node): HfFeature {
  return { name: node.el.name, ...body(node) } as HfFeature;
}

export function hfFeatures(schema: readonly SchemaElement[]): HfFeature[] {
  return toTree(schema).children.map(feature);
}
