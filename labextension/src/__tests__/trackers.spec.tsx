/** The sync buttons, commands and settings come from the server's tracker list
 * (``GET trackers``), never from tracker names written in the sidebar. */
import * as React from 'react';

import { EvidenceController } from '../controller';
import { SyncBar } from '../components/SyncBar';
import { SyncStatus } from '../components/SyncStatus';
import {
  ITracker,
  errorText,
  hasMode,
  normalizeTrackers,
  requestSettings,
  settingField,
  syncFailed,
  trackerLabel
} from '../model';
import { useController } from '../panel';
import { TRACKERS, record } from './fixtures';
import { act, render } from './render';

const TOY: ITracker = {
  name: 'toy',
  label: 'Toy box',
  configured: true,
  settings: [{ key: 'toy_folder', title: 'folder' }]
};
const THREE = { trackers: [...TRACKERS.trackers, TOY] };

function Live({ c }: { c: EvidenceController }): JSX.Element {
  useController(c);
  return (
    <>
      <SyncBar controller={c} />
      <SyncStatus controller={c} />
    </>
  );
}

describe('the tracker list', () => {
  it('keeps each well-formed tracker once, in the server order', () => {
    const raw = {
      trackers: [
        TOY,
        { name: 'mlflow', label: 'MLflow', configured: 'yes', settings: [{ key: 'k' }, 3] },
        { name: 'toy', label: 'a second toy' },
        { name: 'Bad Name', label: 'x' },
        { label: 'no name' },
        'junk'
      ]
    };
    expect(normalizeTrackers(raw)).toEqual([
      TOY,
      { name: 'mlflow', label: 'MLflow', configured: false, settings: [{ key: 'k', title: 'k' }] }
    ]);
    expect(normalizeTrackers({ trackers: [{ name: 'x' }] })).toEqual([
      { name: 'x', label: 'x', configured: false, settings: [] }
    ]);
    expect(normalizeTrackers(null)).toEqual([]);
    expect(normalizeTrackers({ trackers: 'mlflow' })).toEqual([]);
  });

  it('labels a tracker as registered, and an unknown one by its name', () => {
    expect(trackerLabel(THREE.trackers, 'wandb')).toBe('W&B');
    expect(trackerLabel(THREE.trackers, 'toy')).toBe('Toy box');
    expect(trackerLabel(THREE.trackers, 'neptune')).toBe('neptune');
    expect(trackerLabel(null, 'mlflow')).toBe('mlflow');
    expect(hasMode(TRACKERS.trackers[1])).toBe(true);
    expect(hasMode(TRACKERS.trackers[0])).toBe(false);
    expect(hasMode(undefined)).toBe(false);
  });

  it("sends each tracker's keys from the editor's own fields or the free-form object", () => {
    expect(settingField('mlflow_tracking_uri')).toBe('mlflowTrackingUri');
    expect(settingField('wandb_mode')).toBe('wandbMode');
    const composite = {
      mlflowTrackingUri: ' http://127.0.0.1:5000 ',
      mlflowExperiment: '',
      wandbMode: 'offline',
      refreshInterval: 5,
      trackerSettings: { toy_folder: 'runs', mlflow_experiment: 'from-free-form', other_key: 'x' }
    };
    expect(requestSettings(composite, THREE.trackers)).toEqual({
      mlflow_tracking_uri: 'http://127.0.0.1:5000',
      mlflow_experiment: 'from-free-form',
      wandb_mode: 'offline',
      toy_folder: 'runs'
    });
    // a key no registered tracker takes is never sent (the server would refuse it)
    expect(requestSettings(composite, [TOY])).toEqual({ toy_folder: 'runs' });
    expect(requestSettings({ trackerSettings: 'junk', toyFolder: 7 }, [TOY])).toEqual({});
  });
});

describe('the sync buttons', () => {
  function controller(routes: { [endPoint: string]: () => unknown }) {
    const bodies: any[] = [];
    const request = async (endPoint: string, init?: RequestInit) => {
      if (endPoint === 'evidence') {
        const records = [record(), record({ synced: { toy: { run_id: 'r1', url: 'toy://r1' } } })];
        return { records, total: 2, offset: 0, limit: 200, stores: [], version: 'v1' };
      }
      if (endPoint === 'sync') {
        bodies.push(JSON.parse(String(init?.body)));
      }
      const route = routes[endPoint];
      if (!route) {
        throw { body: { message: `no route ${endPoint}`, code: 'HTTP_404' } };
      }
      return route();
    };
    return { c: new EvidenceController(request), bodies };
  }

  it('are one per tracker the server registered, and sync to it with its settings', async () => {
    const { c, bodies } = controller({
      trackers: () => THREE,
      sync: () => {
        throw { body: { message: 'the toy box is shut', code: 'SYNC_FAILED', pending: ['a'] } };
      }
    });
    const loaded: string[][] = [];
    c.trackersLoaded.connect((_, list) => loaded.push(list.map(t => t.name)));
    c.editorSettings = { trackerSettings: { toy_folder: 'runs' }, mlflowExperiment: 'e' };
    await c.refresh();
    await c.refresh();
    expect(loaded).toEqual([['mlflow', 'wandb', 'toy']]); // once: the plugin adds commands
    const { node, unmount } = render(<Live c={c} />);
    const buttons = [...node.querySelectorAll<HTMLButtonElement>('button[data-target]')];
    expect(buttons.map(b => [b.dataset.target, b.textContent])).toEqual([
      ['mlflow', 'Sync to MLflow'],
      ['wandb', 'Sync to W&B'],
      ['toy', 'Sync to Toy box']
    ]);
    // one of the two records is in the toy tracker already
    expect(buttons[2].title).toBe('Log every record not yet in Toy box (1 loaded)');
    expect(buttons[0].title).toBe(
      'Log every record not yet in MLflow (2 loaded); not set up on the server, so its ' +
        'defaults apply'
    );
    await act(async () => buttons[2].click());
    expect(bodies).toEqual([
      { target: 'toy', ids: null, settings: { mlflow_experiment: 'e', toy_folder: 'runs' } }
    ]);
    const alert = node.querySelector('[role="alert"]')!.textContent;
    expect(alert).toContain('Sync to Toy box failed: the toy box is shut');
    expect(alert).toContain('1 record stays pending; nothing is lost.');
    // no mode setting: no offline advice for this tracker
    expect(node.textContent).not.toContain('offline');
    unmount();
    c.dispose();
  });

  it("advise offline only for a tracker with a mode setting (W&B's)", async () => {
    const { c } = controller({ trackers: () => TRACKERS });
    await c.refresh();
    c['_state'] = syncFailed(c.state, 'wandb', { message: 'no network', pending: ['a', 'b'] });
    const { node, unmount } = render(<Live c={c} />);
    expect(node.textContent).toContain(
      '2 records stay pending; nothing is lost. Without W&B credentials or network, set the ' +
        'W&B mode to “offline” in Settings: runs are written locally for a later wandb sync.'
    );
    unmount();
    c.dispose();
  });

  it('say why they are missing when the list cannot be read, and retry quietly', async () => {
    let answer: () => unknown = () => {
      throw { body: { message: 'the server answered 500', code: 'SERVER_ERROR' } };
    };
    const { c } = controller({ trackers: () => answer() });
    let changes = 0;
    c.changed.connect(() => (changes += 1));
    await c.refresh();
    const { node, unmount } = render(<Live c={c} />);
    expect(node.querySelectorAll('button[data-target]').length).toBe(0);
    expect(node.querySelector('.vl-Trackers-error')!.textContent).toBe(
      "No sync buttons: the server's tracker list could not be read (the server answered " +
        '500). Retrying with each refresh.'
    );
    const before = changes;
    await c.refresh(); // the same failure again: nothing re-renders
    expect(changes).toBe(before);
    answer = () => TRACKERS;
    await act(async () => c.refresh());
    expect(node.querySelector('.vl-Trackers-error')).toBeNull();
    expect(node.querySelectorAll('button[data-target]').length).toBe(2);
    unmount();
    c.dispose();
  });
});

describe('an error with its hint', () => {
  it('says the hint once, even when the message quotes it', () => {
    const hint = 'fix the cause and sync again: nothing is lost';
    expect(errorText({ message: 'mlflow is down', hint })).toBe(`mlflow is down (${hint})`);
    expect(errorText({ message: `mlflow is down; 1 record(s) left pending (${hint})`, hint })).toBe(
      `mlflow is down; 1 record(s) left pending (${hint})`
    );
    expect(errorText({ message: 'plain', hint: null })).toBe('plain');
  });
});

describe('a hostile tracker list', () => {
  /** A small seeded generator of JSON-ish values (no fast-check in this project). */
  function junk(seed: number): () => unknown {
    let s = seed;
    const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const value = (depth: number): unknown => {
      const pick = Math.floor(rand() * (depth > 3 ? 6 : 9));
      const words = ['mlflow', 'toy', 'Bad Name', '', 'x_1', '__proto__', 'constructor'];
      switch (pick) {
        case 0:
          return null;
        case 1:
          return rand() * 10 - 5;
        case 2:
          return rand() < 0.5;
        case 3:
        case 4:
          return words[Math.floor(rand() * words.length)];
        case 5:
          return undefined;
        case 6:
          return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
        default: {
          const o: { [key: string]: unknown } = {};
          for (const key of ['name', 'label', 'configured', 'settings', 'key', 'title']) {
            if (rand() < 0.6) {
              o[key] = value(depth + 1);
            }
          }
          return o;
        }
      }
    };
    return () => ({ trackers: Array.from({ length: 5 }, () => value(0)) });
  }

  it('never throws, and keeps only unique, valid names with string keys', () => {
    const make = junk(42);
    let kept = 0;
    for (let i = 0; i < 500; i++) {
      const list = normalizeTrackers(make());
      kept += list.length;
      const names = list.map(t => t.name);
      expect(new Set(names).size).toBe(names.length);
      for (const t of list) {
        expect(t.name).toMatch(/^[a-z_][a-z0-9_]*$/);
        expect(typeof t.label).toBe('string');
        expect(typeof t.configured).toBe('boolean');
        for (const s of t.settings) {
          expect(typeof s.key).toBe('string');
          expect(typeof s.title).toBe('string');
        }
      }
      expect(() => requestSettings({ trackerSettings: make() }, list)).not.toThrow();
    }
    expect(kept).toBeGreaterThan(50); // the generator does reach well-formed trackers
  });
});
