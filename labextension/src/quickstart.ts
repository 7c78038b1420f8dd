/**
 * "Compliance: Open Quickstart Notebook" (Help menu and palette): a short notebook that
 * audits the German credit data with the shipped policy, written to the server root the
 * first time and opened as it is afterwards (the user's edits are never overwritten).
 */

/** Where the quickstart goes, relative to the server root. */
export const QUICKSTART_PATH = 'vl_quickstart.ipynb';

/** The part of JupyterLab's ContentsManager this needs (a fake in jest). */
export interface IContentsLike {
  get(path: string, options?: { content?: boolean }): Promise<unknown>;
  save(path: string, options: { type: 'notebook'; format: 'json'; content: any }): Promise<unknown>;
}

function cell(kind: 'markdown' | 'code', source: string): { [key: string]: unknown } {
  const base = { cell_type: kind, metadata: {}, source };
  return kind === 'code' ? { ...base, execution_count: null, outputs: [] } : base;
}

/** The quickstart as nbformat 4 JSON: the same magics as notebooks/01_quickstart.ipynb. */
export function quickstartNotebook(): { [key: string]: unknown } {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' }
    },
    cells: [
      cell(
        'markdown',
        '# Quickstart: audit the German credit data\n\n' +
          'Run every cell (Run > Run All Cells). The policy checks class balance, the ' +
          'four-fifths rule for approvals by gender and by age band, group sizes and ' +
          'completeness; each `%vl_enforce` leaves a tamper-evident record in ' +
          '`.venturalitica/` next to this notebook, listed in the Compliance sidebar ' +
          '(Ctrl+Alt+V).'
      ),
      cell(
        'code',
        '%load_ext vl_jupyter\nimport vl_jupyter as vl\n\n' +
          'df = vl.datasets.load_german_credit(derived=True)  # adds gender, age, foreign_worker\n' +
          'df.head()'
      ),
      cell('code', '%vl_policy german_credit_data'),
      cell(
        'code',
        'report = %vl_enforce df --policy german_credit_data --target class gender=gender age=age'
      ),
      cell(
        'markdown',
        'Open the record in the Compliance sidebar (click the evidence id in the report): ' +
          'each control with its confidence interval, a trend once you have run it twice, ' +
          'and **Compare with…** the previous run.'
      )
    ]
  };
}

/** Write the quickstart unless it is there already; answer its path. */
export async function ensureQuickstart(
  contents: IContentsLike,
  path = QUICKSTART_PATH
): Promise<string> {
  try {
    await contents.get(path, { content: false });
    return path; // there already: open it as the user left it
  } catch {
    await contents.save(path, { type: 'notebook', format: 'json', content: quickstartNotebook() });
    return path;
  }
}
