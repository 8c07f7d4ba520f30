// Entry point: mounts the root component. Everything that talks to Tauri lives in lib/ipc.ts.
import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { markStart } from "./lib/perf";

markStart("boot");

const target = document.getElementById("app");
if (!target) {
  throw new Error("index.html has no #app element");
}

export default mount(App, { target });
