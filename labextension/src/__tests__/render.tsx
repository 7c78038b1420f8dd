import * as React from 'react';

// no @types/react-dom in this project's snapshot of the registry: typed by hand
declare const require: (id: string) => any;
const testUtils: { act: (fn: () => unknown) => any } = require('react-dom/test-utils');
const client: { createRoot: (node: HTMLElement) => IRoot } = require('react-dom/client');

interface IRoot {
  render(element: React.ReactElement): void;
  unmount(): void;
}

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

export const act: (fn: () => unknown) => any = (React as any).act ?? testUtils.act;

/** Render ``element`` into a fresh node; ``unmount`` when done. */
export function render(element: React.ReactElement): { node: HTMLElement; unmount: () => void } {
  const node = document.createElement('div');
  document.body.appendChild(node);
  const root = client.createRoot(node);
  act(() => root.render(element));
  return {
    node,
    unmount: () => {
      act(() => root.unmount());
      node.remove();
    }
  };
}
