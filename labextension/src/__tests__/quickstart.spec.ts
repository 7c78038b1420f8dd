import { QUICKSTART_PATH, ensureQuickstart, quickstartNotebook } from '../quickstart';

function contents(existing: string[]) {
  const saved: { path: string; model: any }[] = [];
  return {
    saved,
    get: async (path: string) => {
      if (!existing.includes(path)) {
        throw new Error(`${path} not found`);
      }
      return { path };
    },
    save: async (path: string, model: any) => {
      saved.push({ path, model });
      return { path };
    }
  };
}

describe('quickstart', () => {
  it('writes the notebook the first time, as nbformat 4 with the enforce magic', async () => {
    const c = contents([]);
    expect(await ensureQuickstart(c)).toBe(QUICKSTART_PATH);
    expect(c.saved).toHaveLength(1);
    const { path, model } = c.saved[0];
    expect(path).toBe('vl_quickstart.ipynb');
    expect(model.type).toBe('notebook');
    expect(model.format).toBe('json');
    expect(model.content.nbformat).toBe(4);
    const code = model.content.cells.filter((x: any) => x.cell_type === 'code');
    expect(code.map((x: any) => x.outputs)).toEqual([[], [], []]);
    expect(code[0].source.startsWith('%load_ext vl_jupyter\n')).toBe(true);
    expect(code[2].source).toBe(
      'report = %vl_enforce df --policy german_credit_data --target class gender=gender age=age'
    );
  });

  it('never overwrites a quickstart that is there already', async () => {
    const c = contents([QUICKSTART_PATH]);
    expect(await ensureQuickstart(c)).toBe(QUICKSTART_PATH);
    expect(c.saved).toEqual([]);
  });

  it('is valid JSON with a cell list', () => {
    const nb = JSON.parse(JSON.stringify(quickstartNotebook()));
    expect(nb.cells).toHaveLength(5);
    expect(nb.metadata.kernelspec.name).toBe('python3');
  });
});
