// Svelte actions shared by components.

/** Reports an element's border-box height whenever it changes (ResizeObserver). */
export function measure(node: HTMLElement, onHeight: (height: number) => void) {
  let report = onHeight;
  const ro = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const box = entry.borderBoxSize?.[0];
      report(box ? box.blockSize : node.getBoundingClientRect().height);
    }
  });
  ro.observe(node);
  return {
    update(next: (height: number) => void) {
      report = next;
    },
    destroy() {
      ro.disconnect();
    },
  };
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [contenteditable="true"], [tabindex]:not([tabindex="-1"])';

export function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.hasAttribute("inert") && el.getClientRects().length > 0);
}

/** Keeps Tab inside `node`, focuses its first field on open and gives focus back on close. */
export function trapFocus(node: HTMLElement) {
  const previous = document.activeElement as HTMLElement | null;
  queueMicrotask(() => {
    const all = focusables(node);
    const initial = node.querySelector<HTMLElement>("[data-autofocus]") ?? all.find((el) => !el.closest("header")) ?? all[0] ?? node;
    initial.focus();
  });
  function onKeydown(event: KeyboardEvent) {
    if (event.key !== "Tab") return;
    const items = focusables(node);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const first = items[0] as HTMLElement;
    const last = items[items.length - 1] as HTMLElement;
    if (event.shiftKey && (document.activeElement === first || !node.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }
  node.addEventListener("keydown", onKeydown);
  return {
    destroy() {
      node.removeEventListener("keydown", onKeydown);
      if (previous && document.contains(previous)) previous.focus();
    },
  };
}

/** Calls `onOutside` for a pointer press outside `node`. */
export function clickOutside(node: HTMLElement, onOutside: () => void) {
  let handler = onOutside;
  const listener = (event: PointerEvent) => {
    if (!node.contains(event.target as Node)) handler();
  };
  document.addEventListener("pointerdown", listener, true);
  return {
    update(next: () => void) {
      handler = next;
    },
    destroy() {
      document.removeEventListener("pointerdown", listener, true);
    },
  };
}
