/*
 * Connection state recovery: sessions by pid, kept for the recovery
 * window on the loop's timing wheel, and the history of emits.
 *
 * The state lives in the Socket.IO layer, not in the adapter where the
 * reference keeps it: the bounds are per server (one history for every
 * namespace), a record shares the encoded buffers the layer made, and an
 * adapter spanning several nodes delivers its remote broadcasts through
 * the same local path, so recovery on the node a client left works
 * whatever the adapter.
 */
#include "server/recovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/id.h"
#include "server/history.h"
#include "server/sio.h"

struct rec_session {
	char pid[ID_LEN + 1];
	char sid[ID_LEN + 1];
	struct recovery *rc;
	struct sio_namespace *nsp;
	json_t *data; /* owned, or NULL */
	uint64_t start, rooms_seq, delivered;
	uint64_t left;     /* the last offset given out when it left */
	uint64_t deadline; /* ms; the session is gone after it */
	struct timer timer;
	struct list nsp_link;
	struct rec_session *hnext;
	size_t nrooms;
	char **rooms; /* nrooms names, in the same allocation */
};

struct recovery {
	struct sio_layer *io;
	struct history hist;
	struct timer hist_timer; /* armed when the oldest record is due to age out */
	struct rec_session **sessions;
	size_t nsessions, sessions_cap;
	struct pid_link **live; /* connected sockets by pid */
	size_t nlive, live_cap;
	uint64_t duration;
	bool skip_middlewares;
};

/* The offset as the client gets it: decimal, no leading zero. */
#define OFFSET_MAX_DIGITS 20

#define SESSION_HASH(s) hash_str((s)->pid)
#define LIVE_HASH(l) hash_str((l)->sock->rec->pid)

uint64_t recovery_now(const struct recovery *rc)
{
	return rc->hist.last;
}

bool recovery_skip_middlewares(const struct recovery *rc)
{
	return rc->skip_middlewares;
}

/* ---- the history's age bound ------------------------------------------- */

static void hist_timer_fired(struct timer *t);

static void hist_timer_arm(struct recovery *rc)
{
	uint64_t due = history_next_expiry(&rc->hist);
	if (due && !timer_armed(&rc->hist_timer))
		timer_arm(rc->io->wheel, &rc->hist_timer, due, hist_timer_fired);
}

static void hist_timer_fired(struct timer *t)
{
	struct recovery *rc = container_of(t, struct recovery, hist_timer);
	history_expire(&rc->hist, now_ms());
	hist_timer_arm(rc);
}

/* ---- sessions ------------------------------------------------------------ */

static struct rec_session **session_slot(struct recovery *rc, const char *pid)
{
	if (!rc->sessions_cap)
		return NULL;
	struct rec_session **pp = &rc->sessions[hash_str(pid) & (rc->sessions_cap - 1)];
	while (*pp && strcmp((*pp)->pid, pid) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static void session_free(struct rec_session *sess)
{
	struct recovery *rc = sess->rc;
	struct rec_session **pp = session_slot(rc, sess->pid);
	if (pp && *pp == sess) {
		*pp = sess->hnext;
		rc->nsessions--;
	}
	timer_cancel(rc->io->wheel, &sess->timer);
	list_remove(&sess->nsp_link);
	json_decref(sess->data);
	free(sess);
}

static void session_expired(struct timer *t)
{
	session_free(container_of(t, struct rec_session, timer));
}

/* The reasons the reference keeps a session for ("server shutting down"
 * too, but a server that stops keeps nothing). */
static bool reason_recoverable(const char *reason)
{
	static const char *const reasons[] = {"transport error", "transport close", "forced close",
	                                      "ping timeout", "forced server close"};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reason, reasons[i]) == 0)
			return true;
	return false;
}

void recovery_persist(struct recovery *rc, struct sio_socket *s, const char *reason)
{
	if (!rc || !s->rec || rc->io->stopping || !reason_recoverable(reason))
		return;
	struct sio_adapter *a = s->nsp->adapter;
	size_t nrooms = 0, chars = 0;
	const char *room;
	for (; a->ops->room_at(a, s, nrooms, &room); nrooms++)
		chars += strlen(room) + 1;
	HASH_TABLE_RESERVE(rc->sessions, rc->sessions_cap, rc->nsessions, 64, struct rec_session,
	                   SESSION_HASH, return );
	struct rec_session *sess = malloc(sizeof(*sess) + nrooms * sizeof(char *) + chars);
	if (!sess)
		return;
	struct rec_session **old = session_slot(rc, s->rec->pid);
	if (*old)
		session_free(*old); /* cannot be live: the pid's socket was connected */
	*sess = (struct rec_session){.rc = rc, .nsp = s->nsp};
	memcpy(sess->pid, s->rec->pid, sizeof(sess->pid));
	memcpy(sess->sid, s->id, sizeof(sess->sid));
	sess->data = json_incref(sio_socket_json_data(s));
	sess->start = s->rec->start;
	sess->rooms_seq = s->rec->rooms;
	sess->delivered = s->rec->last;
	sess->left = rc->hist.last;
	sess->deadline = now_ms() + rc->duration;
	sess->rooms = (char **)(sess + 1);
	sess->nrooms = nrooms;
	char *text = (char *)(sess->rooms + nrooms);
	for (size_t i = 0; i < nrooms && a->ops->room_at(a, s, i, &room); i++) {
		size_t len = strlen(room) + 1;
		sess->rooms[i] = memcpy(text, room, len);
		text += len;
	}
	struct rec_session **slot = &rc->sessions[hash_str(sess->pid) & (rc->sessions_cap - 1)];
	sess->hnext = *slot;
	*slot = sess;
	rc->nsessions++;
	list_insert_tail(&s->nsp->sessions, &sess->nsp_link);
	list_init(&sess->timer.link);
	timer_arm(rc->io->wheel, &sess->timer, sess->deadline, session_expired);
}

void recovery_drop_namespace(struct recovery *rc, struct sio_namespace *nsp)
{
	while (rc && !list_empty(&nsp->sessions))
		session_free(container_of(nsp->sessions.next, struct rec_session, nsp_link));
}

/* ---- connected sockets by pid ---------------------------------------------- */

void recovery_remember(struct recovery *rc, struct sio_socket *s)
{
	if (!rc || !s->rec || s->rec->link.sock)
		return;
	/* out of memory: only a take-over (recovery_take_over()) is missed */
	HASH_TABLE_RESERVE(rc->live, rc->live_cap, rc->nlive, 64, struct pid_link, LIVE_HASH,
	                   return );
	struct pid_link **slot = &rc->live[hash_str(s->rec->pid) & (rc->live_cap - 1)];
	s->rec->link.sock = s;
	s->rec->link.hnext = *slot;
	*slot = &s->rec->link;
	rc->nlive++;
}

void recovery_forget(struct recovery *rc, struct sio_socket *s)
{
	if (!rc || !s->rec || !s->rec->link.sock)
		return;
	struct pid_link **pp = &rc->live[hash_str(s->rec->pid) & (rc->live_cap - 1)];
	while (*pp != &s->rec->link)
		pp = &(*pp)->hnext;
	*pp = s->rec->link.hnext;
	s->rec->link = (struct pid_link){0};
	rc->nlive--;
}

static struct sio_socket *live_find(const struct recovery *rc, const char *pid)
{
	if (!rc->live_cap)
		return NULL;
	for (struct pid_link *l = rc->live[hash_str(pid) & (rc->live_cap - 1)]; l; l = l->hnext)
		if (strcmp(l->sock->rec->pid, pid) == 0)
			return l->sock;
	return NULL;
}

/* ---- offsets --------------------------------------------------------------- */

uint64_t recovery_offset(struct recovery *rc, json_t *data)
{
	char text[OFFSET_MAX_DIGITS + 1];
	uint64_t seq = history_next(&rc->hist);
	snprintf(text, sizeof(text), "%" PRIu64, seq);
	if (json_array_append_new(data, json_string(text)) < 0)
		return 0;
	return seq;
}

/* The offset in `v` (a string of decimal digits, as recovery_offset()
 * writes them), or 0 when it is not one (no offset is 0). */
static uint64_t offset_parse(const json_t *v)
{
	if (!json_is_string(v))
		return 0;
	const char *p = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > OFFSET_MAX_DIGITS || p[0] == '0')
		return 0;
	uint64_t seq = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		unsigned d = (unsigned)(p[i] - '0');
		if (seq > (UINT64_MAX - d) / 10)
			return 0;
		seq = seq * 10 + d;
	}
	return seq;
}

void recovery_store(struct recovery *rc, uint64_t seq, const struct sio_namespace *nsp,
                    const struct sio_target *t, const char *to, struct outbuf **bufs, size_t n)
{
	struct hist_dest dest = {.to = to};
	if (t && !to) {
		dest.rooms = t->rooms;
		dest.except = t->except;
		dest.except_id = t->except_socket ? t->except_socket->id : NULL;
	}
	history_add(&rc->hist, seq, now_ms(), nsp->serial, &dest, bufs, n);
	hist_timer_arm(rc);
}

static uint64_t offset_parse(const json_t *v);

/* The offset a CONNECT's auth holds: absent is `none` (nothing received);
 * false when present but not an offset. */
static bool auth_offset(const json_t *auth, uint64_t none, uint64_t *off)
{
	const json_t *v = json_object_get(auth, "offset");
	*off = v ? offset_parse(v) : none;
	return *off != 0 || !v;
}

void recovery_take_over(struct recovery *rc, const struct sio_namespace *nsp,
                        const struct sio_client *c, const json_t *auth)
{
	const json_t *pid = rc && json_is_object(auth) ? json_object_get(auth, "pid") : NULL;
	if (!json_is_string(pid) || json_string_length(pid) != ID_LEN)
		return;
	struct sio_socket *old = live_find(rc, json_string_value(pid));
	if (!old || old->nsp != nsp || old->client == c || old->client->closed)
		return;
	/* only a connection that stopped answering: the client gives up after
	 * ping interval + timeout without a ping, by then the server's ping has
	 * gone unanswered for about the timeout. A live one (a replayed pid)
	 * is left alone, and the CONNECT gets a new session. */
	if (eio_session_unanswered_ms(old->client->conn) * 2 < rc->io->opts->ping_timeout)
		return;
	/* the offset must be one the old socket may hold; recovery_find()
	 * then checks it in full */
	uint64_t off;
	if (!auth_offset(auth, old->rec->start, &off) || off < old->rec->start ||
	    off > old->rec->last)
		return;
	client_close(old->client, "transport close");
}

/* ---- recovering -------------------------------------------------------- */

static bool session_reached_by(const struct rec_session *sess, const struct hist_record *r)
{
	return hist_record_reaches(r, sess->nsp->serial, sess->sid,
	                           (const char *const *)sess->rooms, sess->nrooms);
}

struct rec_session *recovery_find(struct recovery *rc, const struct sio_namespace *nsp,
                                  const json_t *auth, uint64_t *from)
{
	if (!rc || !json_is_object(auth))
		return NULL;
	const json_t *pid = json_object_get(auth, "pid");
	if (!json_is_string(pid) || json_string_length(pid) != ID_LEN)
		return NULL;
	struct rec_session **pp = session_slot(rc, json_string_value(pid));
	struct rec_session *sess = pp ? *pp : NULL;
	if (!sess || sess->nsp != nsp)
		return NULL;
	uint64_t now = now_ms();
	if (now >= sess->deadline) {
		session_free(sess);
		return NULL;
	}
	history_expire(&rc->hist, now);
	/* the offset: absent when the client took no event of this session
	 * yet; otherwise ours, and one this socket could have got */
	uint64_t off;
	if (!auth_offset(auth, sess->start, &off) || off < sess->start || off > sess->delivered)
		return NULL; /* not an offset, from before it, or never sent to it */
	if (off < sess->delivered) {
		/* records after the offset were sent to it: judged by its rooms,
		 * which must not have changed since */
		if (off < sess->rooms_seq || !history_complete_after(&rc->hist, off))
			return NULL;
		if (off > sess->start) {
			const struct hist_record *r = history_find(&rc->hist, off);
			if (!r || off == sess->rooms_seq || !session_reached_by(sess, r))
				return NULL;
		}
	} else if (!history_complete_after(&rc->hist, sess->left)) {
		return NULL; /* something emitted since it left is gone */
	}
	*from = off;
	return sess;
}

int recovery_apply(struct recovery *rc, struct sio_socket *s, struct rec_session *sess)
{
	struct sio_adapter *a = s->nsp->adapter;
	memcpy(s->id, sess->sid, sizeof(sess->sid));
	if (!s->rec)
		return SIO_ENOMEM; /* not reached: recovery_find() needs a pid, which v4 lacks */
	memcpy(s->rec->pid, sess->pid, sizeof(s->rec->pid));
	for (size_t i = 0; i < sess->nrooms; i++) {
		int r = a->ops->join(a, s, sess->rooms[i]);
		if (r < 0)
			return r;
	}
	if (sess->data || sio_socket_json_data(s)) {
		int r = sio_socket_set_json_data(s, json_incref(sess->data));
		if (r < 0)
			return r;
	}
	s->rec->start = sess->start;
	s->rec->rooms = sess->rooms_seq;
	s->rec->last = sess->delivered;
	s->rec->recovered = true;
	(void)rc;
	return 0;
}

void recovery_resume(struct recovery *rc, struct sio_socket *s, struct rec_session *sess,
                     uint64_t from)
{
	struct history *h = &rc->hist;
	for (uint32_t i = history_after(h, from); i < h->count; i++) {
		struct hist_record *r = history_at(h, i);
		if (r->seq > sess->delivered && r->seq <= sess->left)
			continue; /* it was connected and not among the recipients */
		if (!session_reached_by(sess, r))
			continue;
		if (eio_session_send(s->client->conn, r->bufs, r->nbufs, false) < 0)
			break; /* the connection is closing: the client comes back */
		s->rec->last = r->seq;
	}
	session_free(sess);
}

void recovery_counts(const struct recovery *rc, uint64_t *sessions, uint64_t *records,
                     uint64_t *bytes)
{
	*sessions = rc ? rc->nsessions : 0;
	*records = rc ? rc->hist.count : 0;
	*bytes = rc ? rc->hist.bytes : 0;
}

/* ---- the whole ----------------------------------------------------------- */

struct recovery *recovery_create(struct sio_layer *io)
{
	const struct sio_recovery_options *o = &io->opts->connection_state_recovery;
	struct recovery *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->io = io;
	rc->duration = o->max_disconnection_duration;
	rc->skip_middlewares = o->skip_middlewares;
	history_init(&rc->hist, o->max_history_bytes, o->max_disconnection_duration);
	list_init(&rc->hist_timer.link);
	return rc;
}

void recovery_destroy(struct recovery *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->sessions_cap; i++)
		while (rc->sessions[i])
			session_free(rc->sessions[i]);
	free(rc->sessions);
	free(rc->live);
	timer_cancel(rc->io->wheel, &rc->hist_timer);
	history_finish(&rc->hist);
	free(rc);
}
