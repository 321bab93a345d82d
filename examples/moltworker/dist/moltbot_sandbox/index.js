// Prebuilt Worker module for the example (moltworker's is built by Vite).
import { DurableObject } from "cloudflare:workers";

export class Sandbox extends DurableObject {}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/api/status") {
      return Response.json({ ok: false, status: "not_running" });
    }
    return env.ASSETS.fetch(request);
  },
};
