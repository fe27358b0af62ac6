// Reads a text/event-stream response with fetch() (EventSource cannot send headers or POST).
// onEvent(name, data, id) is called per event; resolves when the stream ends.
export async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const at = line.indexOf(":");
        const field = at < 0 ? line : line.slice(0, at);
        const val = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
        else if (field === "id") id = val;
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")), id);
    }
  }
}

// Follows a resumable event stream forever, reconnecting after the last id it saw.
export function followEvents(url, headers, onEvent, signal) {
  let lastId = null;
  (async () => {
    while (!signal.aborted) {
      try {
        const h = { ...headers };
        if (lastId) h["Last-Event-ID"] = lastId;
        const response = await fetch(url, { headers: h, signal });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        await readEvents(response, (name, data, id) => { if (id) lastId = id; onEvent(name, data); });
      } catch (err) {
        if (signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}
