// kubeline console: live pages. A page that shows changing state follows
// the API's change stream (GET /events?kinds=..., Server-Sent Events of
// what changed in the caller's groups) and reads its data again only when
// something it shows changed; when the stream cannot be opened or breaks,
// it polls as before. Loaded before console.js, whose helpers (S, KL,
// every, showError, ...) these functions call when they run.
'use strict';

// follow calls refresh when a change for which matches(change) is true
// arrives (changes arriving while it runs make one more call), until the
// page changes or refresh returns false. It falls back to every(ms,
// refresh). body[data-live] says which: "stream" or "polling";
// body[data-pushes] counts the changes that made the page read again.
function follow(kinds, matches, refresh, ms) {
  const serial = S.serial;
  const ctl = new AbortController();
  S.streams.push(ctl);
  let running = false;
  let again = false;
  const redraw = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        if (serial !== S.serial) return;
        if ((await refresh()) === false) { ctl.abort(); return; }
      } while (again);
    } catch (e) {
      if (serial === S.serial) showError(e.message);
    } finally {
      running = false;
    }
  };
  const fallback = () => {
    if (serial !== S.serial || ctl.signal.aborted) return;
    document.body.dataset.live = 'polling';
    every(ms, refresh);
  };
  (async () => {
    const headers = { Accept: 'text/event-stream' };
    if (S.token) headers.Authorization = 'Bearer ' + S.token;
    const res = await fetch(KL + '/events?kinds=' + kinds.join(','), { headers, signal: ctl.signal });
    if (!res.ok || !res.body) throw new Error('the change stream answered HTTP ' + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the change stream ended');
      buf += value.replace(/\r\n/g, '\n');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = sseEvent(buf.slice(0, i));
        buf = buf.slice(i + 2);
        if (serial !== S.serial) return;
        if (ev.event === 'ready') document.body.dataset.live = 'stream';
        else if (ev.event === 'resync' || (ev.event === 'change' && JSON.parse(ev.data).some(matches))) {
          document.body.dataset.pushes = Number(document.body.dataset.pushes || 0) + 1; // what made the page read again
          redraw(); // a resync: changes were lost, so read again
        }
      }
    }
  })().catch(fallback);
}

// sseEvent parses one Server-Sent Events block.
function sseEvent(block) {
  const ev = { event: 'message', data: '' };
  for (const line of block.split('\n')) {
    const i = line.indexOf(':');
    if (i === 0) continue; // a comment: the stream's keep-alive
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') ev.event = value;
    else if (field === 'data') ev.data += (ev.data ? '\n' : '') + value;
  }
  return ev;
}

// whenFree runs draw once the keyboard is not on one of the page's
// controls (a redraw would take it away), checking twice a second.
function whenFree(main, draw) {
  const serial = S.serial;
  const tick = () => {
    if (serial !== S.serial) return;
    if (busy(main)) { S.timers.push(setTimeout(tick, 500)); return; }
    draw();
  };
  tick();
}

// tickWaits counts the queue's waiting times up in the page, with no call
// of the API: each .waited element holds when its wait began.
function tickWaits(main) {
  const serial = S.serial;
  const tick = () => {
    if (serial !== S.serial) return;
    for (const el of $$('.waited', main)) el.textContent = `${Math.max(0, Math.round((Date.now() - Number(el.dataset.since)) / 1000))} s`;
    S.timers.push(setTimeout(tick, 1000));
  };
  S.timers.push(setTimeout(tick, 1000));
}
