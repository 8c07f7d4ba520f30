// Dev-only entry: installs the fake shell, then starts the real app. `?do=` runs a few
// scripted steps after start so headless screenshots can show more than the first view:
// thread, search, jump, settings, outbox, edit, mention, firehose.
import { installFakeShell } from "./fake-shell";

const params = new URLSearchParams(location.search);
installFakeShell(params);
await import("../main");

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T & HTMLElement>(sel);
const key = (target: EventTarget, k: string, init: KeyboardEventInit = {}) =>
  target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...init }));

async function run(step: string) {
  await wait(700);
  switch (step) {
    case "thread":
      q("[data-testid=reply-count]")?.click();
      break;
    case "search": {
      const input = q<HTMLInputElement>("[data-testid=search-input]");
      if (!input) return;
      input.focus();
      input.value = "staging deploy";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      break;
    }
    case "jump":
      key(window, "k", { ctrlKey: true });
      await wait(50);
      {
        const input = q<HTMLInputElement>("[data-testid=jump-dialog] input");
        if (input) {
          input.value = "gen";
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }
      break;
    case "settings":
      q<HTMLButtonElement>("button[aria-label=Settings]")?.click();
      break;
    case "outbox":
      q<HTMLButtonElement>(".status button.outbox")?.click();
      break;
    case "edit": {
      const mine = Array.from(document.querySelectorAll<HTMLElement>("[data-testid=message]")).reverse().find((m) => m.querySelector("[data-testid=action-edit]"));
      mine?.querySelector<HTMLElement>("[data-testid=action-edit]")?.click();
      break;
    }
    case "react": {
      const msgs = document.querySelectorAll<HTMLElement>("[data-testid=message]");
      const m = msgs[Math.max(0, msgs.length - 6)];
      m?.querySelector<HTMLElement>("[data-testid=action-react]")?.click();
      break;
    }
    case "mention": {
      const ed = q("[data-testid=composer-input]");
      if (!ed) return;
      ed.focus();
      document.execCommand("insertText", false, "Thanks @gr");
      break;
    }
    case "bottom":
      q("[data-testid=jump-to-latest]")?.click();
      break;
    case "firehose":
      q("[data-channel-id=c-firehose] .channel-row")?.click();
      await wait(800);
      break;
  }
}

for (const step of (params.get("do") ?? "").split(",").filter(Boolean)) await run(step);
