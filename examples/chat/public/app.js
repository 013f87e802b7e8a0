// The chat page. Plain JavaScript, no build step; `io` comes from
// /socket.io/socket.io.js, which the sioc server serves itself.
//
// Everything a user typed reaches the page only through textContent, never
// innerHTML: a message like <img src=x onerror=...> shows as text.
//
// ?transport=polling or ?transport=websocket forces that transport (the
// tests use it); without it the client starts with polling and upgrades.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  // A token kept for this tab: after a reconnect the server gives the
  // nickname back to the same tab even if it has not noticed yet that the
  // old connection is gone.
  let token = sessionStorage.getItem('chat-token');
  if (!token) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    token = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    sessionStorage.setItem('chat-token', token);
  }

  const options = { auth: { token } };
  const forced = new URLSearchParams(location.search).get('transport');
  if (forced === 'polling' || forced === 'websocket') options.transports = [forced];
  const socket = io(options);

  const state = {
    nick: null,   // ours, once the server accepted it
    room: null,   // the room we are in
    pmTo: null,   // the nickname private messages go to, or null
    typing: new Map(), // nick -> timer of the people typing in our room
    typingSent: false,
    typingTimer: null,
  };

  // For the tests and the curious: window.chat.socket, window.chat.state.
  window.chat = { socket, state };

  /* ---- connection status ------------------------------------------------ */

  function showStatus() {
    const el = $('status');
    if (socket.connected) {
      el.textContent = `online · ${socket.io.engine.transport.name}`;
      el.className = 'status online';
    } else {
      el.textContent = 'offline · reconnecting…';
      el.className = 'status offline';
    }
  }

  socket.on('connect', () => {
    showStatus();
    socket.io.engine.once('upgrade', showStatus);
    // After a reconnect: take our nickname again, then our room.
    if (state.nick) {
      chooseNick(state.nick, () => {
        if (state.room) joinRoom(state.room);
      });
    }
  });
  socket.on('disconnect', showStatus);
  socket.on('connect_error', showStatus);

  /* ---- rendering -------------------------------------------------------- */

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function timeOf(ts) {
    return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function scrollDown() {
    const list = $('messages');
    list.scrollTop = list.scrollHeight;
  }

  // One message: {from, text, ts, to?}. `tick` is '' (not ours), 'pending',
  // 'sent' (the server has it) or 'delivered' (every recipient has it).
  function addMessage(m, { mine = false, tick = '', privateTo = null, privateFrom = false } = {}) {
    const li = el('li', 'msg');
    li.classList.add(mine ? 'mine' : 'theirs');
    if (privateTo || privateFrom) li.classList.add('private');
    if (m.id !== undefined) li.dataset.id = String(m.id);

    const meta = el('div', 'meta');
    meta.append(el('span', 'from', m.from));
    if (privateTo) meta.append(el('span', 'pm-label', `private to ${privateTo}`));
    else if (privateFrom) meta.append(el('span', 'pm-label', 'private'));
    meta.append(el('time', 'time', timeOf(m.ts ?? Date.now())));
    if (mine) meta.append(el('span', 'tick'));
    li.append(meta, el('div', 'text', m.text));
    if (mine) setTick(li, tick);
    $('messages').append(li);
    scrollDown();
    return li;
  }

  function setTick(li, tick) {
    const t = li.querySelector('.tick');
    if (!t) return;
    const marks = { pending: '🕓', sent: '✓', delivered: '✓✓', failed: '!' };
    const titles = {
      pending: 'sending…', sent: 'the server has it', delivered: 'delivered',
      failed: 'not sent',
    };
    t.textContent = marks[tick] ?? '';
    t.title = titles[tick] ?? '';
    t.dataset.state = tick;
    li.dataset.tick = tick;
  }

  function addNotice(text) {
    $('messages').append(el('li', 'notice', text));
    scrollDown();
  }

  function renderRooms(rooms) {
    const list = $('rooms');
    list.replaceChildren();
    for (const r of rooms) {
      const li = el('li', r.name === state.room ? 'room-item current' : 'room-item');
      const b = el('button', 'room-button');
      b.type = 'button';
      b.dataset.room = r.name;
      b.append(el('span', 'room-name', `# ${r.name}`), el('span', 'count', String(r.members)));
      b.title = `${r.members} member${r.members === 1 ? '' : 's'}`;
      b.addEventListener('click', () => joinRoom(r.name));
      li.append(b);
      list.append(li);
    }
  }
  let lastRooms = [];
  socket.on('rooms', (rooms) => {
    lastRooms = rooms;
    renderRooms(rooms);
  });

  function renderUsers(users) {
    const list = $('users');
    list.replaceChildren();
    for (const nick of [...users].sort((x, y) => x.localeCompare(y))) {
      const li = el('li', nick === state.nick ? 'user me' : 'user');
      const b = el('button', 'user-button', nick === state.nick ? `${nick} (you)` : nick);
      b.type = 'button';
      b.dataset.nick = nick;
      b.disabled = nick === state.nick;
      b.addEventListener('click', () => setPmTarget(nick));
      li.append(b);
      list.append(li);
    }
  }

  function renderTyping() {
    const names = [...state.typing.keys()];
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'several people are typing…';
    $('typing').textContent = text;
  }

  function enableComposer() {
    const on = state.room !== null || state.pmTo !== null;
    $('text').disabled = !on;
    $('send').disabled = !on;
    $('text').placeholder = state.pmTo ? `private message to ${state.pmTo}`
      : state.room ? `message # ${state.room}` : 'join a room to talk';
  }

  function setPmTarget(nick) {
    state.pmTo = nick;
    $('pm-target').hidden = nick === null;
    $('pm-name').textContent = nick ?? '';
    enableComposer();
    if (nick) $('text').focus();
  }
  $('pm-cancel').addEventListener('click', () => setPmTarget(null));

  /* ---- nickname --------------------------------------------------------- */

  function showError(id, text) {
    $(id).textContent = text;
    $(id).hidden = !text;
  }

  // Asks for `nick`; `then` runs once accepted.
  function chooseNick(nick, then) {
    socket.timeout(10000).emit('nick', nick, (err, res) => {
      if (err || !res || !res.ok) {
        state.nick = null;
        $('login').hidden = false;
        $('chat').hidden = true;
        $('me').hidden = true;
        showError('nick-error', err ? 'the server did not answer; try again' : res.error);
        return;
      }
      state.nick = res.nick;
      showError('nick-error', '');
      $('login').hidden = true;
      $('chat').hidden = false;
      $('me').hidden = false;
      $('me').textContent = `you are ${res.nick}`;
      renderRooms(lastRooms);
      then?.();
    });
  }

  $('nick-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const nick = $('nick-input').value.trim();
    if (!nick) return;
    chooseNick(nick, () => joinRoom('general'));
  });

  /* ---- rooms ------------------------------------------------------------ */

  function joinRoom(name) {
    socket.timeout(10000).emit('join', name, (err, res) => {
      if (err || !res || !res.ok) {
        showError('room-error', err ? 'the server did not answer' : res.error);
        return;
      }
      showError('room-error', '');
      state.room = res.room;
      state.typing.forEach((t) => clearTimeout(t));
      state.typing.clear();
      renderTyping();
      $('room-title').textContent = `# ${res.room}`;
      $('leave').hidden = false;
      $('messages').replaceChildren();
      if (res.history.length > 0) addNotice(`the last ${res.history.length} messages`);
      for (const m of res.history) {
        const mine = m.from === state.nick;
        addMessage(m, { mine, tick: mine ? 'sent' : '' });
      }
      addNotice(`you joined # ${res.room}`);
      renderUsers(res.users);
      renderRooms(lastRooms);
      enableComposer();
      $('text').focus();
    });
  }

  $('room-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('room-input').value.trim();
    if (!name) return;
    $('room-input').value = '';
    joinRoom(name);
  });

  $('leave').addEventListener('click', () => {
    socket.emit('leave', () => {
      state.room = null;
      state.typing.clear();
      renderTyping();
      $('room-title').textContent = 'No room';
      $('leave').hidden = true;
      $('messages').replaceChildren();
      $('users').replaceChildren();
      addNotice('you left the room; pick one on the left');
      renderRooms(lastRooms);
      enableComposer();
    });
  });

  socket.on('users', (u) => {
    if (u.room === state.room) renderUsers(u.users);
  });

  socket.on('notice', (n) => {
    if (n.room === state.room) addNotice(n.text);
  });

  /* ---- messages --------------------------------------------------------- */

  // Incoming messages ask for an acknowledgement: that is what turns the
  // author's tick into ✓✓.
  socket.on('message', (m, ack) => {
    if (m.room === state.room) addMessage(m);
    clearTyping(m.from);
    if (typeof ack === 'function') ack();
  });

  socket.on('pm', (m, ack) => {
    addMessage(m, { privateFrom: true });
    if (typeof ack === 'function') ack();
  });

  socket.on('delivered', (d) => {
    const li = document.querySelector(`#messages li.mine[data-id="${Number(d.id)}"]`);
    if (li) setTick(li, 'delivered');
  });

  $('send-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('text').value;
    if (!text.trim()) return;
    $('text').value = '';
    stopTyping();
    const to = state.pmTo;
    const li = addMessage({ from: state.nick, text, ts: Date.now() },
      { mine: true, tick: 'pending', privateTo: to });
    const done = (err, res) => {
      if (err || !res || !res.ok) {
        setTick(li, 'failed');
        addNotice(`not sent: ${err ? 'no answer from the server' : res.error}`);
        return;
      }
      li.dataset.id = String(res.id);
      if (li.dataset.tick === 'pending') setTick(li, 'sent');
    };
    if (to) socket.timeout(10000).emit('pm', to, text, done);
    else socket.timeout(10000).emit('message', text, done);
  });

  /* ---- typing indicator ------------------------------------------------- */

  function clearTyping(nick) {
    const t = state.typing.get(nick);
    if (t !== undefined) {
      clearTimeout(t);
      state.typing.delete(nick);
      renderTyping();
    }
  }

  socket.on('typing', (t) => {
    if (t.room !== state.room || t.nick === state.nick) return;
    clearTyping(t.nick);
    if (t.typing) {
      // Forget it after a while should the "stopped" never come.
      state.typing.set(t.nick, setTimeout(() => clearTyping(t.nick), 6000));
      renderTyping();
    }
  });

  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (state.typingSent) {
      state.typingSent = false;
      socket.emit('typing', false);
    }
  }

  $('text').addEventListener('input', () => {
    if (state.pmTo || !state.room) return;
    if (!state.typingSent) {
      state.typingSent = true;
      socket.emit('typing', true);
    }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, 3000);
  });
  $('text').addEventListener('blur', stopTyping);
})();
