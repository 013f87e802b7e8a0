/*
 * chat_server: the chat-room demo. A browser page (examples/chat/public,
 * served by the library itself through opts.static_dir, with the client
 * bundle at /socket.io/socket.io.js) talks to this server over Socket.IO.
 *
 *   chat_server [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [port [public-dir]]
 *
 * With --tls-cert and --tls-key (PEM; or $SIOC_CHAT_TLS_CERT and
 * $SIOC_CHAT_TLS_KEY) it speaks only HTTPS: open https://localhost:3000/.
 * --tls-ca (or $SIOC_CHAT_TLS_CA) makes it want client certificates that CA
 * signed. The port is 3000 by default; 0 picks a free one. The first line printed
 * is "PORT n" (the port listened on), for scripts and tests. The page's
 * folder is, in this order: the second argument, $SIOC_CHAT_PUBLIC, a
 * folder "public" beside the executable, or examples/chat/public of the
 * source tree it was built from. Ctrl-C (SIGINT) or SIGTERM stops it.
 *
 * What it speaks, all on the namespace "/". From the page, each with an
 * acknowledgement that answers {"ok":true,...} or {"ok":false,"error":...}:
 *
 *   "nick"    (name)        choose a nickname (unique, case-insensitive)
 *   "join"    (room)        join a room, creating it when missing; the
 *                           answer holds its users and last 50 messages
 *   "leave"   ()            leave the current room
 *   "message" (text)        say something to the current room
 *   "pm"      (nick, text)  say something to one user only
 *   "typing"  (bool)        (no acknowledgement) started / stopped typing
 *
 * From the server:
 *
 *   "rooms"     [{name, members}]          to everyone, when a count changes
 *   "users"     {room, users: [nick]}      to a room, when its members change
 *   "message"   {id, room, from, text, ts} to the room but its author; asks
 *                                          for an acknowledgement
 *   "pm"        {id, from, to, text, ts}   to its recipient; asks for one too
 *   "delivered" {id, count}                to the author, once every
 *                                          recipient acknowledged (or timed out)
 *   "notice"    {room, text}               "alice joined" and the like
 *   "typing"    {room, nick, typing}       to the room but the typist
 *
 * A user is in at most one room at a time. A page sends a random token in
 * its auth object; a reconnecting page that asks for its nickname again with
 * the same token gets it back even when the server has not yet noticed that
 * the old connection is gone.
 */
#include <sioc.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef CHAT_PUBLIC_DIR
#define CHAT_PUBLIC_DIR "examples/chat/public"
#endif

enum {
	HISTORY_MAX = 50,   /* messages kept per room */
	ROOMS_MAX = 32,     /* rooms at once; empty ones are dropped to make space */
	NICK_MAX = 24,      /* characters (up to 4 bytes each in UTF-8) */
	ROOM_NAME_MAX = 32, /* characters */
	TEXT_MAX = 8000,    /* bytes of one message (the page allows 2000 characters) */
	TOKEN_MAX = 64,     /* bytes of the page's reconnect token */
	DELIVERY_TIMEOUT_MS = 10000,
};

static const char *const default_rooms[] = {"general", "random"};

struct room {
	char *name;
	char *sio_room;               /* "#" + name: the sioc room of its members */
	size_t members;               /* users in it now */
	bool permanent;               /* a default room: never dropped */
	int64_t last_active;          /* ms since the epoch of the last join or message */
	json_t *history[HISTORY_MAX]; /* a ring of message objects (owned) */
	size_t history_start;         /* index of the oldest message */
	size_t history_len;
	struct room *next;
};

struct user {
	sio_socket *sock;
	char *token;       /* from the handshake's auth; "" when none was sent */
	char *nick;        /* NULL until chosen */
	struct room *room; /* NULL when in no room */
	struct user *prev, *next;
};

struct chat {
	sio_server *srv;
	sio_namespace *nsp;
	struct room *rooms; /* in creation order, the default ones first */
	size_t nrooms;
	struct user *users; /* one per connected socket */
	json_int_t next_id; /* of the next message */
};

/* Messages waiting for their recipients' acknowledgements. The author is
 * named by socket id, not pointer: it may have left when the acks come. */
struct delivery {
	char *author_id;
	json_int_t msg_id;
	size_t waiting;   /* acknowledgements still to come */
	size_t delivered; /* acknowledgements received */
};

static struct chat g_chat;
static sio_server *g_server;             /* for the signal handler */
static volatile sig_atomic_t g_stopping; /* set once a signal asked us to stop */

static void on_signal(int sig)
{
	(void)sig;
	g_stopping = 1;
	sio_server_stop(g_server);
}

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- names ---------------------------------------------------------------- */

/*
 * Checks a nickname or room name sent by a page: a string, trimmed of
 * spaces, 1..max characters, without control characters. On success stores a
 * new copy in *out and returns NULL; otherwise returns why not (a static
 * string for the page).
 */
static const char *name_parse(const json_t *v, size_t max, char **out)
{
	const char *s = json_string_value(v);
	size_t len;

	if (s == NULL)
		return "a name must be a string";
	len = json_string_length(v);
	if (strlen(s) != len)
		return "a name cannot contain NUL";
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return "the name is empty";
	for (size_t i = 0, chars = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return "the name contains control characters";
		/* jansson strings are valid UTF-8: count the non-continuation bytes */
		if ((c & 0xc0) != 0x80 && ++chars > max)
			return "the name is too long";
	}
	*out = strndup(s, len);
	return *out ? NULL : "out of memory";
}

/* ---- users ---------------------------------------------------------------- */

static struct user *user_by_nick(const char *nick)
{
	for (struct user *u = g_chat.users; u; u = u->next)
		if (u->nick && strcasecmp(u->nick, nick) == 0)
			return u;
	return NULL;
}

static struct user *user_by_socket_id(const char *id)
{
	for (struct user *u = g_chat.users; u; u = u->next)
		if (strcmp(sio_socket_id(u->sock), id) == 0)
			return u;
	return NULL;
}

/* The socket's data free function: runs when the library frees the socket,
 * after the disconnect callback unlinked the user. */
static void user_free(void *p)
{
	struct user *u = p;

	free(u->token);
	free(u->nick);
	free(u);
}

/* ---- rooms ---------------------------------------------------------------- */

static struct room *room_find(const char *name)
{
	for (struct room *r = g_chat.rooms; r; r = r->next)
		if (strcasecmp(r->name, name) == 0)
			return r;
	return NULL;
}

static void room_free(struct room *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->history_len; i++)
		json_decref(r->history[(r->history_start + i) % HISTORY_MAX]);
	free(r->sio_room);
	free(r->name);
	free(r);
}

/* Unlinks and frees the empty, non-default room idle for longest. Returns
 * false when there is none. */
static bool room_drop_idlest(void)
{
	struct room **victim = NULL;

	for (struct room **p = &g_chat.rooms; *p; p = &(*p)->next) {
		struct room *r = *p;

		if (r->permanent || r->members > 0)
			continue;
		if (victim == NULL || r->last_active < (*victim)->last_active)
			victim = p;
	}
	if (victim == NULL)
		return false;
	struct room *r = *victim;

	*victim = r->next;
	g_chat.nrooms--;
	printf("room %s dropped to make space\n", r->name);
	room_free(r);
	return true;
}

/* Creates a room and appends it to the list. `name` is stolen (freed on
 * failure). Returns NULL with *error set when it cannot. */
static struct room *room_create(char *name, bool permanent, const char **error)
{
	struct room *r;

	if (g_chat.nrooms >= ROOMS_MAX && !room_drop_idlest()) {
		free(name);
		*error = "there are too many rooms; join one of them";
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->sio_room = malloc(strlen(name) + 2)) == NULL) {
		free(r);
		free(name);
		*error = "out of memory";
		return NULL;
	}
	r->name = name;
	r->sio_room[0] = '#';
	strcpy(r->sio_room + 1, name);
	r->permanent = permanent;
	r->last_active = now_ms();

	struct room **tail = &g_chat.rooms;

	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	g_chat.nrooms++;
	return r;
}

/* Appends a message object (a new reference is taken) to the room's
 * history, dropping the oldest past HISTORY_MAX. */
static void room_remember(struct room *r, json_t *msg)
{
	if (r->history_len == HISTORY_MAX) {
		json_decref(r->history[r->history_start]);
		r->history_start = (r->history_start + 1) % HISTORY_MAX;
		r->history_len--;
	}
	r->history[(r->history_start + r->history_len) % HISTORY_MAX] = json_incref(msg);
	r->history_len++;
}

/* A new array of the room's history, oldest first. */
static json_t *room_history(const struct room *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->history_len; i++)
		json_array_append(a, r->history[(r->history_start + i) % HISTORY_MAX]);
	return a;
}

/* A new array of the nicknames in the room. */
static json_t *room_users(const struct room *r)
{
	json_t *a = json_array();

	for (struct user *u = g_chat.users; a && u; u = u->next)
		if (u->room == r && u->nick)
			json_array_append_new(a, json_string(u->nick));
	return a;
}

/* ---- broadcasts ----------------------------------------------------------- */

/* Emits `event` with one argument (stolen) to the sockets of a room (NULL:
 * to every socket), but `except` (may be NULL). Nothing while stopping:
 * every socket is leaving then. */
static void emit_to(const struct room *r, const sio_socket *except, const char *event, json_t *arg)
{
	const char *rooms[] = {r ? r->sio_room : NULL, NULL};
	struct sio_target t = {.rooms = r ? rooms : NULL, .except_socket = except};
	json_t *args;

	if (g_stopping || arg == NULL) {
		json_decref(arg);
		return;
	}
	args = json_array();
	if (args && json_array_append_new(args, arg) == 0)
		sio_namespace_emit(g_chat.nsp, &t, event, args, NULL, 0);
	else
		json_decref(args);
}

/* A new array of the rooms: [{name, members}]. */
static json_t *rooms_list(void)
{
	json_t *list = json_array();

	for (struct room *r = g_chat.rooms; list && r; r = r->next)
		json_array_append_new(list, json_pack("{s:s, s:I}", "name", r->name, "members",
		                                      (json_int_t)r->members));
	return list;
}

/* Tells everyone the rooms and their member counts. */
static void broadcast_rooms(void)
{
	emit_to(NULL, NULL, "rooms", rooms_list());
}

/* Tells a room who is in it. */
static void broadcast_users(const struct room *r)
{
	emit_to(r, NULL, "users", json_pack("{s:s, s:o}", "room", r->name, "users", room_users(r)));
}

static void notice(const struct room *r, const sio_socket *except, const char *nick,
                   const char *what)
{
	char text[4 * NICK_MAX + 64];

	snprintf(text, sizeof(text), "%s %s", nick, what);
	emit_to(r, except, "notice", json_pack("{s:s, s:s}", "room", r->name, "text", text));
}

/* ---- acknowledgements ----------------------------------------------------- */

static void reply(sio_ack *ack, json_t *answer)
{
	if (ack == NULL) {
		json_decref(answer);
		return;
	}
	sio_ack_send(ack, answer ? json_pack("[o]", answer) : NULL, NULL, 0);
}

static void reply_error(sio_ack *ack, const char *error)
{
	reply(ack, json_pack("{s:b, s:s}", "ok", 0, "error", error));
}

/* Called once per recipient of a message: counts the answers, and when the
 * last one is in tells the author how many recipients got it. */
static void on_delivery_ack(sio_socket *sock, int err, json_t *args, const struct sio_binary *bins,
                            size_t nbins, void *userdata)
{
	struct delivery *d = userdata;
	struct user *author;

	if (err == 0)
		d->delivered++;
	if (--d->waiting > 0)
		return;
	author = user_by_socket_id(d->author_id);
	if (author && d->delivered > 0 && !g_stopping)
		sio_socket_emit(author->sock, "delivered",
		                json_pack("[{s:I, s:I}]", "id", d->msg_id, "count",
		                          (json_int_t)d->delivered),
		                NULL, 0);
	free(d->author_id);
	free(d);
}

/* Sends `event` with `msg` (borrowed) to each recipient, asking for an
 * acknowledgement, and tracks them for the author's "delivered" event. */
static void deliver(sio_socket *author, sio_socket *const *to, size_t n, const char *event,
                    json_t *msg, json_int_t msg_id)
{
	struct delivery *d;

	if (n == 0)
		return;
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->author_id = strdup(sio_socket_id(author))) == NULL) {
		free(d);
		return;
	}
	d->msg_id = msg_id;
	d->waiting = n;
	for (size_t i = 0; i < n; i++) {
		/* sio_socket_emit_with_ack never calls back when it fails */
		if (sio_socket_emit_with_ack(to[i], event, json_pack("[O]", msg), NULL, 0,
		                             DELIVERY_TIMEOUT_MS, on_delivery_ack, d) < 0)
			on_delivery_ack(to[i], SIO_ECLOSED, NULL, NULL, 0, d);
	}
}

/* ---- joining and leaving -------------------------------------------------- */

/*
 * Takes the user out of its room (if any) and tells the room. `in_sioc` is
 * false from the disconnect callback, where the library already took the
 * socket out of its rooms.
 */
static void leave_room(struct user *u, bool in_sioc)
{
	struct room *r = u->room;

	if (r == NULL)
		return;
	if (in_sioc)
		sio_socket_leave(u->sock, r->sio_room);
	u->room = NULL;
	r->members--;
	if (u->nick) {
		emit_to(r, NULL, "typing",
		        json_pack("{s:s, s:s, s:b}", "room", r->name, "nick", u->nick, "typing",
		                  0));
		notice(r, NULL, u->nick, "left");
	}
	broadcast_users(r);
	broadcast_rooms();
}

static void on_nick(sio_socket *sock, const char *event, json_t *args,
                    const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *userdata)
{
	struct user *u = sio_socket_data(sock);
	struct user *holder;
	char *nick = NULL;
	const char *error = name_parse(json_array_get(args, 0), NICK_MAX, &nick);
	char *old;

	if (error) {
		reply_error(ack, error);
		return;
	}
	holder = user_by_nick(nick);
	if (holder && holder != u) {
		if (u->token[0] == '\0' || strcmp(u->token, holder->token) != 0) {
			char msg[4 * NICK_MAX + 64];

			snprintf(msg, sizeof(msg), "the nickname \"%s\" is taken; pick another one",
			         nick);
			free(nick);
			reply_error(ack, msg);
			return;
		}
		/* The same page reconnected before its old connection was
		 * noticed gone: the old one gives way. */
		printf("%s reconnected; closing its old connection %s\n", nick,
		       sio_socket_id(holder->sock));
		leave_room(holder, true);
		free(holder->nick);
		holder->nick = NULL;
		sio_socket_disconnect(holder->sock, true);
	}
	old = u->nick;
	u->nick = nick;
	if (old && u->room && strcmp(old, nick) != 0) {
		char what[4 * NICK_MAX + 32];

		snprintf(what, sizeof(what), "is now known as %s", nick);
		notice(u->room, NULL, old, what);
		broadcast_users(u->room);
	}
	free(old);
	printf("%s is %s\n", sio_socket_id(sock), nick);
	reply(ack, json_pack("{s:b, s:s}", "ok", 1, "nick", nick));
}

static void on_join(sio_socket *sock, const char *event, json_t *args,
                    const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *userdata)
{
	struct user *u = sio_socket_data(sock);
	struct room *r;
	char *name = NULL;
	const char *error;

	if (u->nick == NULL) {
		reply_error(ack, "choose a nickname first");
		return;
	}
	error = name_parse(json_array_get(args, 0), ROOM_NAME_MAX, &name);
	if (error) {
		reply_error(ack, error);
		return;
	}
	r = room_find(name);
	if (r) {
		free(name);
	} else {
		r = room_create(name, false, &error);
		if (r == NULL) {
			reply_error(ack, error);
			return;
		}
		printf("%s created room %s\n", u->nick, r->name);
	}
	if (u->room != r) {
		int err;

		leave_room(u, true);
		err = sio_socket_join(sock, r->sio_room);
		if (err < 0) {
			reply_error(ack, sio_strerror(err));
			broadcast_rooms(); /* a room may have been created */
			return;
		}
		u->room = r;
		r->members++;
		r->last_active = now_ms();
		notice(r, sock, u->nick, "joined");
		broadcast_users(r);
		broadcast_rooms();
	}
	reply(ack, json_pack("{s:b, s:s, s:o, s:o}", "ok", 1, "room", r->name, "users",
	                     room_users(r), "history", room_history(r)));
}

static void on_leave(sio_socket *sock, const char *event, json_t *args,
                     const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *userdata)
{
	leave_room(sio_socket_data(sock), true);
	reply(ack, json_pack("{s:b}", "ok", 1));
}

/*
 * Checks the text of a message: a string of 1..TEXT_MAX bytes that is not
 * only white space. Returns it (borrowed from args) or NULL with *error.
 */
static const char *text_parse(const json_t *v, const char **error)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	*error = NULL;
	if (s == NULL)
		*error = "a message must be a string";
	else if (strlen(s) != len)
		*error = "a message cannot contain NUL";
	else if (len > TEXT_MAX)
		*error = "the message is too long";
	else if (strspn(s, " \t\r\n") == len)
		*error = "the message is empty";
	return *error ? NULL : s;
}

static void on_message(sio_socket *sock, const char *event, json_t *args,
                       const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *userdata)
{
	struct user *u = sio_socket_data(sock);
	const char *error;
	const char *text = text_parse(json_array_get(args, 0), &error);
	const char *rooms[2];
	struct sio_target t = {.rooms = rooms, .except_socket = sock};
	json_int_t id = g_chat.next_id++;
	int64_t ts = now_ms();
	sio_socket **to;
	size_t n;
	json_t *msg;

	if (text == NULL) {
		reply_error(ack, error);
		return;
	}
	if (u->room == NULL) {
		reply_error(ack, "join a room first");
		return;
	}
	msg = json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", id, "room", u->room->name, "from",
	                u->nick, "text", text, "ts", (json_int_t)ts);
	if (msg == NULL) {
		reply_error(ack, "out of memory");
		return;
	}
	room_remember(u->room, msg);
	u->room->last_active = ts;
	reply(ack, json_pack("{s:b, s:I, s:I}", "ok", 1, "id", id, "ts", (json_int_t)ts));

	/* Each recipient acknowledges, so the author can see it delivered. */
	rooms[0] = u->room->sio_room;
	rooms[1] = NULL;
	n = sio_namespace_fetch_sockets(g_chat.nsp, &t, NULL, 0);
	to = malloc((n ? n : 1) * sizeof(*to));
	if (to) {
		n = sio_namespace_fetch_sockets(g_chat.nsp, &t, to, n);
		deliver(sock, to, n, "message", msg, id);
		free(to);
	}
	json_decref(msg);
}

static void on_pm(sio_socket *sock, const char *event, json_t *args, const struct sio_binary *bins,
                  size_t nbins, sio_ack *ack, void *userdata)
{
	struct user *u = sio_socket_data(sock);
	const char *to_nick = json_string_value(json_array_get(args, 0));
	const char *error;
	const char *text = text_parse(json_array_get(args, 1), &error);
	struct user *to;
	json_int_t id;
	int64_t ts = now_ms();
	json_t *msg;

	if (u->nick == NULL) {
		reply_error(ack, "choose a nickname first");
		return;
	}
	if (text == NULL) {
		reply_error(ack, error);
		return;
	}
	to = to_nick ? user_by_nick(to_nick) : NULL;
	if (to == NULL) {
		reply_error(ack, "no such user");
		return;
	}
	if (to == u) {
		reply_error(ack, "that is you");
		return;
	}
	id = g_chat.next_id++;
	msg = json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", id, "from", u->nick, "to", to->nick,
	                "text", text, "ts", (json_int_t)ts);
	if (msg == NULL) {
		reply_error(ack, "out of memory");
		return;
	}
	reply(ack, json_pack("{s:b, s:I, s:I, s:s}", "ok", 1, "id", id, "ts", (json_int_t)ts, "to",
	                     to->nick));
	deliver(sock, &to->sock, 1, "pm", msg, id);
	json_decref(msg);
}

static void on_typing(sio_socket *sock, const char *event, json_t *args,
                      const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *userdata)
{
	struct user *u = sio_socket_data(sock);
	const char *rooms[2];
	struct sio_target t = {.rooms = rooms, .volatile_ = true};

	if (u->room == NULL || u->nick == NULL)
		return;
	rooms[0] = u->room->sio_room;
	rooms[1] = NULL;
	/* volatile: a late "typing" is worth nothing, drop it under load */
	sio_socket_broadcast(sock, &t, "typing",
	                     json_pack("[{s:s, s:s, s:b}]", "room", u->room->name, "nick", u->nick,
	                               "typing", json_is_true(json_array_get(args, 0))),
	                     NULL, 0);
	if (ack)
		sio_ack_send(ack, NULL, NULL, 0);
}

/* ---- connections ---------------------------------------------------------- */

static void on_connection(sio_socket *sock, void *userdata)
{
	const json_t *token = json_object_get(sio_socket_handshake(sock)->auth, "token");
	const char *tok = json_string_value(token);
	struct user *u = calloc(1, sizeof(*u));

	if (u == NULL ||
	    (u->token = strndup(tok && json_string_length(token) <= TOKEN_MAX ? tok : "",
	                        TOKEN_MAX)) == NULL) {
		free(u);
		sio_socket_disconnect(sock, true);
		return;
	}
	u->sock = sock;
	sio_socket_set_data(sock, u, user_free);
	u->next = g_chat.users;
	if (u->next)
		u->next->prev = u;
	g_chat.users = u;

	if (sio_socket_on(sock, "nick", on_nick, NULL) < 0 ||
	    sio_socket_on(sock, "join", on_join, NULL) < 0 ||
	    sio_socket_on(sock, "leave", on_leave, NULL) < 0 ||
	    sio_socket_on(sock, "message", on_message, NULL) < 0 ||
	    sio_socket_on(sock, "pm", on_pm, NULL) < 0 ||
	    sio_socket_on(sock, "typing", on_typing, NULL) < 0) {
		sio_socket_disconnect(sock, true);
		return;
	}
	printf("%s connected\n", sio_socket_id(sock));
	sio_socket_emit(sock, "rooms", json_pack("[o]", rooms_list()), NULL, 0);
}

static void on_disconnect(sio_socket *sock, const char *reason, void *userdata)
{
	struct user *u = sio_socket_data(sock);

	if (u == NULL)
		return; /* refused in on_connection */
	printf("%s (%s) disconnected: %s\n", sio_socket_id(sock), u->nick ? u->nick : "no nickname",
	       reason);
	leave_room(u, false);
	if (u->prev)
		u->prev->next = u->next;
	else
		g_chat.users = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	/* user_free() frees it with the socket */
}

/* ---- main ----------------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The page's folder as a new absolute path, or NULL (see the top comment). */
static char *public_dir(int argc, char **argv)
{
	const char *env = getenv("SIOC_CHAT_PUBLIC");
	char exe[PATH_MAX];
	ssize_t n;

	if (argc > 2)
		return realpath(argv[2], NULL);
	if (env && *env)
		return realpath(env, NULL);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - sizeof("/public"));
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			strcpy(slash, "/public");
			if (is_dir(exe))
				return realpath(exe, NULL);
		}
	}
	return realpath(CHAT_PUBLIC_DIR, NULL);
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	struct sio_namespace_events events;
	struct sigaction sa;
	char *dir;
	int port = 3000;
	int err = 0;
	int status = 0;
	const char *tls_cert = getenv("SIOC_CHAT_TLS_CERT");
	const char *tls_key = getenv("SIOC_CHAT_TLS_KEY");
	const char *tls_ca = getenv("SIOC_CHAT_TLS_CA");

	/* the --tls-* flags first; the positional arguments are what is left */
	while (argc > 2 && strncmp(argv[1], "--tls-", 6) == 0) {
		if (strcmp(argv[1], "--tls-cert") == 0)
			tls_cert = argv[2];
		else if (strcmp(argv[1], "--tls-key") == 0)
			tls_key = argv[2];
		else if (strcmp(argv[1], "--tls-ca") == 0)
			tls_ca = argv[2];
		else
			break;
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc > 1) {
		char *end;
		long v = strtol(argv[1], &end, 10);

		if (*argv[1] == '\0' || *end != '\0' || v < 0 || v > 65535 || argc > 3) {
			fprintf(stderr,
			        "usage: %s [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] "
			        "[port [public-dir]]\n",
			        argv[0]);
			return 2;
		}
		port = (int)v;
	}
	dir = public_dir(argc, argv);
	if (dir == NULL || !is_dir(dir)) {
		fprintf(stderr,
		        "cannot find the page's folder (%s); pass it as the second "
		        "argument or in $SIOC_CHAT_PUBLIC\n",
		        dir ? dir : strerror(errno));
		free(dir);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	sio_server_options_init(&opts);
	opts.serve_client = true; /* /socket.io/socket.io.js for the page */
	/* SIOC_CHAT_PARSER=msgpack: the page then loads ?parser=msgpack */
	const char *parser = getenv("SIOC_CHAT_PARSER");
	if (parser && strcmp(parser, "msgpack") == 0)
		opts.parser = SIO_PARSER_MSGPACK;
	opts.static_dir = dir;    /* everything else: index.html, app.js, style.css */
	if (tls_cert && *tls_cert) {
		opts.tls.cert_file = tls_cert; /* HTTPS only */
		opts.tls.key_file = tls_key;
		opts.tls.ca_file = tls_ca && *tls_ca ? tls_ca : NULL;
	}
	g_server = sio_server_create(&opts, &err);
	if (g_server == NULL) {
		fprintf(stderr, "cannot create the server: %s\n", sio_strerror(err));
		free(dir);
		return 1;
	}
	g_chat.srv = g_server;
	g_chat.nsp = sio_server_of(g_server, "/");
	g_chat.next_id = 1;

	for (size_t i = 0; i < sizeof(default_rooms) / sizeof(default_rooms[0]); i++) {
		const char *error;
		char *name = strdup(default_rooms[i]);

		if (name == NULL || room_create(name, true, &error) == NULL) {
			fprintf(stderr, "out of memory\n");
			status = 1;
			goto out;
		}
	}

	memset(&events, 0, sizeof(events));
	events.version = SIO_NAMESPACE_EVENTS_VERSION;
	events.connection = on_connection;
	events.disconnect = on_disconnect;
	err = g_chat.nsp ? sio_namespace_set_events(g_chat.nsp, &events, NULL) : SIO_ENOMEM;
	if (err == 0)
		err = sio_server_listen(g_server, NULL, port);
	if (err < 0) {
		fprintf(stderr, "cannot listen on port %d: %s\n", port, sio_strerror(err));
		status = 1;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("PORT %d\n", sio_server_port(g_server));
	printf("chat server: open %s://localhost:%d/ in a browser (page from %s)\n",
	       opts.tls.cert_file ? "https" : "http", sio_server_port(g_server), dir);

	err = sio_server_run(g_server);
	if (err < 0) {
		fprintf(stderr, "server stopped with an error: %s\n", sio_strerror(err));
		status = 1;
	}
out:
	/* Sockets still open are disconnected here; their callbacks unlink them. */
	g_stopping = 1;
	sio_server_destroy(g_server);
	while (g_chat.rooms) {
		struct room *r = g_chat.rooms;

		g_chat.rooms = r->next;
		room_free(r);
	}
	free(dir);
	return status;
}
