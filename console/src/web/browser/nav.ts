import { $ } from './dom.ts';

// One view at a time, named in the address (#workstations, #tasks…), so the back button and a bookmark work and a
// refresh loads only what is on screen.

export const VIEWS = ['workstations', 'groups', 'tasks', 'restores', 'requests', 'events', 'audit', 'users'] as const;
export type ViewName = (typeof VIEWS)[number];

const isView = (s: string): s is ViewName => (VIEWS as readonly string[]).includes(s);

export function currentView(): ViewName {
  const name = location.hash.replace(/^#/, '');
  return isView(name) ? name : 'workstations';
}

/** Shows the view in the address and marks its link; `onShow` loads it. */
export function wireNav(onShow: (view: ViewName) => void): void {
  const show = () => {
    const view = currentView();
    for (const el of document.querySelectorAll<HTMLElement>('[data-view]')) el.hidden = el.dataset['view'] !== view;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
      if (a.hash === '#' + view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    onShow(view);
  };
  window.addEventListener('hashchange', show);
  show();
}

/** Opens a view (the events list's "restore…" opens the restore form). */
export function goTo(view: ViewName): void {
  if (currentView() !== view) location.hash = '#' + view;
  $('main').scrollTo?.(0, 0);
}
