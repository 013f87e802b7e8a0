/*
 * Sockets: one client in one namespace. Events in, emits and acks out,
 * rooms, disconnect.
 */
#include "server/sio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/id.h"
#include "protocol/sio_msgpack.h"

/* An emit of ours waiting for the client's ACK. */
struct pending_ack {
	int64_t id;
	sio_ack_fn fn;
	void *userdata;
	struct sio_socket *sock;
	struct timer timer;
	struct list link;
};

struct sio_ack {
	struct sio_socket *sock;
	int64_t id;
	struct list link;
};

/* The binary attachments of an emit or an ack: SIO_EINVAL (a count
 * without an array), SIO_ETOOBIG (more than SIO_MAX_EMIT_BINS) or 0. */
static int bins_check(const struct sio_binary *bins, size_t nbins)
{
	if (nbins && !bins)
		return SIO_EINVAL;
	return nbins > SIO_MAX_EMIT_BINS ? SIO_ETOOBIG : 0;
}

int emit_check(const char *event, const struct sio_binary *bins, size_t nbins)
{
	int r = event ? bins_check(bins, nbins) : SIO_EINVAL;
	if (r == SIO_EINVAL)
		return r;
	if (sio_pkt_event_reserved(event, strlen(event)))
		return SIO_ERESERVED;
	return r; /* SIO_ETOOBIG after SIO_ERESERVED */
}

int event_array(const char *event, json_t *args, json_t **out)
{
	*out = NULL;
	if (args && !json_is_array(args)) {
		json_decref(args);
		return SIO_EINVAL;
	}
	if (!args)
		args = json_array();
	if (!args || json_array_insert_new(args, 0, json_string(event)) < 0) {
		json_decref(args);
		return SIO_ENOMEM;
	}
	*out = args;
	return 0;
}

int emit_data(int pre, const char *event, json_t *args, const struct sio_binary *bins,
              size_t nbins, json_t **out)
{
	int r = pre < 0 ? pre : emit_check(event, bins, nbins);
	if (r < 0) {
		*out = NULL;
		json_decref(args);
		return r;
	}
	return event_array(event, args, out);
}

struct sio_socket *socket_new(struct sio_client *c, struct sio_namespace *nsp, json_t *auth)
{
	const char *sid = sio_eio_id(c->conn);
	bool v4 = client_v4(c);
	bool root = strcmp(nsp->name, "/") == 0;
	size_t id_len = !v4 ? ID_LEN : root ? strlen(sid) : strlen(nsp->name) + 1 + strlen(sid);
	struct sio_socket *s = calloc(1, sizeof(*s) + id_len + 1);
	if (s && nsp->io->opts->max_events_per_second)
		s->rare = calloc(1, sizeof(*s->rare)); /* its window is counted on every event */
	/* a v4 client (1.x/2.x) has no recovery: no pid */
	if (s && !v4 && nsp->io->recovery)
		s->rec = calloc(1, sizeof(*s->rec));
	if (s && ((!v4 && (id_random(s->id) < 0 ||
	                   (nsp->io->recovery && (!s->rec || id_random(s->rec->pid) < 0)))) ||
	          (nsp->io->opts->max_events_per_second && !s->rare))) {
		free(s->rare);
		free(s->rec);
		free(s);
		s = NULL;
	}
	if (!s) {
		json_decref(auth);
		return NULL;
	}
	if (v4)
		snprintf(s->id, id_len + 1, "%s%s%s", root ? "" : nsp->name, root ? "" : "#", sid);
	s->client = c;
	s->nsp = nsp;
	if (auth && json_is_object(auth)) {
		s->hs.auth = auth;
	} else {
		/* most clients send no auth: they share one empty object */
		json_decref(auth);
		s->hs.auth = json_incref(nsp->io->empty_object);
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	s->hs.request = sio_eio_request(c->conn);
	s->hs.issued = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	s->hs.secure = sio_request_secure(s->hs.request);
	s->hs.xdomain = sio_request_header(s->hs.request, "origin") != NULL;
	list_init(&s->rooms);
	list_init(&s->own_link);
	list_init(&s->nsp_link);
	list_init(&s->client_link);
	list_init(&s->defer_link);
	return s;
}

struct socket_rare *socket_rare_get(struct sio_socket *s)
{
	if (!s->rare)
		s->rare = calloc(1, sizeof(*s->rare));
	return s->rare;
}

struct socket_acks *socket_acks_get(struct sio_socket *s)
{
	if (!s->acks) {
		s->acks = calloc(1, sizeof(*s->acks));
		if (s->acks) {
			list_init(&s->acks->out);
			list_init(&s->acks->in);
		}
	}
	return s->acks;
}

void socket_free(struct sio_socket *s)
{
	if (s->data_free)
		s->data_free(s->data);
	if (s->acks) {
		while (!list_empty(&s->acks->in)) {
			struct sio_ack *a = container_of(s->acks->in.next, struct sio_ack, link);
			list_remove(&a->link);
			free(a);
		}
		free(s->acks);
	}
	free(s->rec);
	free(s->handlers);
	if (s->rare)
		json_decref(s->rare->json_data);
	free(s->rare);
	json_decref((json_t *)s->hs.auth); /* owned: see socket_new() */
	free(s);
}

/* ---- sending ------------------------------------------------------------ */

/* The msgpack parser's one binary message for the packet, copied into a
 * buffer of io's pool. */
static int encode_msgpack(struct sio_layer *io, const char *nsp, size_t nsp_len,
			  enum sio_packet_type type, int64_t id, const json_t *data,
			  const struct sio_binary *bins, size_t nbins, struct outbuf **out)
{
	struct sio_pkt_buf stack_bufs[16];
	struct sio_pkt_buf *bufs = stack_bufs;
	if (nbins > 16 && !(bufs = malloc(nbins * sizeof(*bufs))))
		return SIO_ENOMEM;
	for (size_t i = 0; i < nbins; i++)
		bufs[i] = (struct sio_pkt_buf){.data = (uint8_t *)bins[i].data, .len = bins[i].len};
	uint8_t *msg = NULL;
	size_t len = 0;
	int r = sio_msgpack_encode(type, nsp, nsp_len, id, (uint32_t)nbins, data,
				   nbins ? bufs : NULL, 0, &msg, &len);
	if (bufs != stack_bufs)
		free(bufs);
	if (r < 0)
		return r == SIO_PKT_ENOMEM ? SIO_ENOMEM : SIO_EINVAL;
	out[0] = outbuf_new(io->pool, EIO_MESSAGE, true, msg, len);
	free(msg);
	return out[0] ? 1 : SIO_ENOMEM;
}

/* The most the scratch buffer of encode_packet() keeps between packets. */
#define SCRATCH_KEEP 65536

int encode_packet(struct sio_layer *io, const char *nsp, size_t nsp_len,
		  enum sio_packet_type type, int64_t id, const json_t *data,
		  const struct sio_binary *bins, size_t nbins, struct outbuf **out)
{
	if (nbins > 0) {
		if (type == SIO_PACKET_EVENT)
			type = SIO_PACKET_BINARY_EVENT;
		else if (type == SIO_PACKET_ACK)
			type = SIO_PACKET_BINARY_ACK;
	}
	if (io->opts->parser == SIO_PARSER_MSGPACK)
		return encode_msgpack(io, nsp, nsp_len, type, id, data, bins, nbins, out);
	/* encoded into memory kept for it, then copied once into a buffer of
	 * the pool of exactly its size class */
	struct buf *text = &io->scratch;
	text->len = 0;
	int r = sio_pkt_encode_buf(type, nsp, nsp_len, id, (uint32_t)nbins, data, text);
	if (r < 0)
		return r == SIO_PKT_ENOMEM ? SIO_ENOMEM : SIO_EINVAL;
	out[0] = outbuf_new(io->pool, EIO_MESSAGE, false, text->data, text->len);
	if (text->cap > SCRATCH_KEEP)
		buf_free(text);
	if (!out[0])
		return SIO_ENOMEM;
	for (size_t i = 0; i < nbins; i++) {
		out[i + 1] = outbuf_new(io->pool, EIO_MESSAGE, true, bins[i].data, bins[i].len);
		if (!out[i + 1]) {
			for (size_t k = 0; k <= i; k++)
				outbuf_unref(out[k]);
			return SIO_ENOMEM;
		}
	}
	return (int)(1 + nbins);
}

int socket_packet(struct sio_socket *s, enum sio_packet_type type, int64_t id, const json_t *data,
		  const struct sio_binary *bins, size_t nbins, bool is_volatile)
{
	struct outbuf *bufs[1 + SIO_MAX_EMIT_BINS];
	if (nbins > SIO_MAX_EMIT_BINS)
		return SIO_ETOOBIG;
	int n = encode_packet(s->nsp->io, s->nsp->name, strlen(s->nsp->name), type, id, data, bins,
			      nbins, bufs);
	if (n < 0)
		return n;
	int r = eio_session_send(s->client->conn, bufs, (size_t)n, is_volatile);
	for (int i = 0; i < n; i++)
		outbuf_unref(bufs[i]);
	return r;
}

/* ---- public: identity and data ------------------------------------------ */

SIO_API const struct sio_handshake *sio_socket_handshake(const sio_socket *s)
{
	return s ? &s->hs : NULL;
}

SIO_API const char *sio_socket_id(const sio_socket *s)
{
	return s ? s->id : NULL;
}

SIO_API sio_namespace *sio_socket_namespace(const sio_socket *s)
{
	return s ? s->nsp : NULL;
}

SIO_API sio_eio_socket *sio_socket_conn(const sio_socket *s)
{
	return s ? s->client->conn : NULL;
}

SIO_API bool sio_socket_connected(const sio_socket *s)
{
	return s && s->connected;
}

SIO_API void sio_socket_set_data(sio_socket *s, void *data, void (*free_fn)(void *))
{
	if (!s)
		return;
	if (s->data_free && s->data != data)
		s->data_free(s->data);
	s->data = data;
	s->data_free = free_fn;
}

SIO_API void *sio_socket_data(const sio_socket *s)
{
	return s ? s->data : NULL;
}

SIO_API int sio_socket_set_json_data(sio_socket *s, json_t *data)
{
	if (!s) {
		json_decref(data);
		return SIO_EINVAL;
	}
	if (!data && !s->rare)
		return 0;
	struct socket_rare *r = socket_rare_get(s);
	if (!r) {
		json_decref(data);
		return SIO_ENOMEM;
	}
	json_decref(r->json_data);
	r->json_data = data;
	return 0;
}

SIO_API json_t *sio_socket_json_data(const sio_socket *s)
{
	return s && s->rare ? s->rare->json_data : NULL;
}

SIO_API bool sio_socket_recovered(const sio_socket *s)
{
	return s && s->rec && s->rec->recovered;
}

/* ---- handlers ----------------------------------------------------------- */

static char *handler_names(const struct sio_socket *s)
{
	return (char *)(s->handlers + s->nhandlers);
}

/* The bytes of the names after the handlers. */
static size_t handler_names_len(const struct sio_socket *s)
{
	const char *names = handler_names(s);
	size_t off = 0;
	for (uint32_t i = 0; i < s->nhandlers; i++)
		off += strlen(names + off) + 1;
	return off;
}

/* The index of event's handler, with the offset of its name; -1 when
 * none. */
static long handler_index(const struct sio_socket *s, const char *event, uint32_t *name_off)
{
	const char *names = handler_names(s);
	uint32_t off = 0;
	for (uint32_t i = 0; i < s->nhandlers; i++) {
		const char *name = names + off;
		if (strcmp(name, event) == 0) {
			if (name_off)
				*name_off = off;
			return (long)i;
		}
		off += (uint32_t)strlen(name) + 1;
	}
	return -1;
}

static struct handler *handler_find(const struct sio_socket *s, const char *event)
{
	long i = handler_index(s, event, NULL);
	return i < 0 ? NULL : &s->handlers[i];
}

SIO_API int sio_socket_on(sio_socket *s, const char *event, sio_event_fn fn, void *userdata)
{
	if (!s || !event || !fn)
		return SIO_EINVAL;
	struct handler *h = handler_find(s, event);
	if (h) {
		h->fn = fn;
		h->userdata = userdata;
		return 0;
	}
	/* a new block: one more handler, the names moved after it */
	size_t len = strlen(event) + 1;
	size_t names_len = handler_names_len(s);
	if (len > UINT32_MAX - names_len || s->nhandlers == SIO_MAX_HANDLERS)
		return SIO_EINVAL;
	size_t n = s->nhandlers;
	struct handler *nh = malloc((n + 1) * sizeof(*nh) + names_len + len);
	if (!nh)
		return SIO_ENOMEM;
	char *names = (char *)(nh + n + 1);
	if (n) {
		memcpy(nh, s->handlers, n * sizeof(*nh));
		memcpy(names, handler_names(s), names_len);
	}
	memcpy(names + names_len, event, len);
	nh[n] = (struct handler){.fn = fn, .userdata = userdata};
	free(s->handlers);
	s->handlers = nh;
	s->nhandlers++;
	return 0;
}

SIO_API int sio_socket_on_any(sio_socket *s, sio_event_fn fn, void *userdata)
{
	if (!s)
		return SIO_EINVAL;
	if (!s->rare && !fn)
		return 0;
	if (!socket_rare_get(s))
		return SIO_ENOMEM;
	s->rare->any = fn;
	s->rare->any_userdata = userdata;
	return 0;
}

SIO_API int sio_socket_off(sio_socket *s, const char *event)
{
	if (!s || !event)
		return SIO_EINVAL;
	uint32_t off;
	long i = handler_index(s, event, &off);
	if (i < 0)
		return SIO_ENOTFOUND;
	/* in place, the order kept: the name's bytes closed up, the handlers
	 * after it moved down, then the names moved down by one handler */
	char *names = handler_names(s);
	size_t names_len = handler_names_len(s);
	size_t len = strlen(names + off) + 1;
	memmove(names + off, names + off + len, names_len - off - len);
	names_len -= len;
	memmove(&s->handlers[i], &s->handlers[i + 1],
	        (s->nhandlers - (uint32_t)i - 1) * sizeof(*s->handlers));
	s->nhandlers--;
	memmove(handler_names(s), names, names_len);
	return 0;
}

/* ---- incoming packets ---------------------------------------------------- */

static void pkt_bins(const struct sio_pkt *p, struct sio_binary *out)
{
	for (uint32_t i = 0; i < p->attachments && p->bufs; i++)
		out[i] = (struct sio_binary){.data = p->bufs[i].data, .len = p->bufs[i].len};
}

/* The caps on what a client may make a socket hold or do. Returns false
 * (after closing the connection) when one is passed. */
static bool event_allowed(struct sio_socket *s, const struct sio_pkt *p)
{
	const struct sio_server_options *o = s->nsp->io->opts;
	if (o->max_events_per_second) {
		struct socket_rare *r = s->rare; /* made by socket_new() with the option */
		uint64_t now = now_ms();
		if (now - r->events_window >= 1000) {
			r->events_window = now;
			r->events_in_window = 0;
		}
		if (++r->events_in_window > o->max_events_per_second) {
			client_close(s->client, "forced close");
			return false;
		}
	}
	if (p->id >= 0 && o->max_pending_acks && s->acks && s->acks->nin >= o->max_pending_acks) {
		client_close(s->client, "forced close");
		return false;
	}
	return true;
}

static void on_event(struct sio_socket *s, struct sio_pkt *p)
{
	if (!event_allowed(s, p))
		return;
	json_t *arr = p->data;
	json_t *first = json_array_get(arr, 0);
	char numbuf[32];
	const char *event = numbuf;
	json_t *held = NULL; /* the name string, kept past its removal from arr */
	if (!arr) {
		return; /* "2" with no payload names no event: nothing to call */
	} else if (json_is_string(first)) {
		if (memchr(json_string_value(first), '\0', json_string_length(first)))
			return; /* a name C code cannot see whole ("disconnect\u0000x") */
		held = json_incref(first);
		event = json_string_value(first);
	} else if (json_is_integer(first)) {
		snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(first));
	} else {
		/* the shortest form that reads back the same, as JavaScript
		 * names the listener */
		double v = json_number_value(first);
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(numbuf, sizeof(numbuf), "%.*g", prec, v);
			if (strtod(numbuf, NULL) == v)
				break;
		}
	}
	SIO_OBSERVE(s->nsp->io, event_in, s, p);
	json_array_remove(arr, 0);

	sio_event_fn fn = s->rare ? s->rare->any : NULL;
	void *ud = s->rare ? s->rare->any_userdata : NULL;
	const struct handler *h = handler_find(s, event);
	if (h) {
		fn = h->fn;
		ud = h->userdata;
	}
	if (!fn) {
		json_decref(held); /* nobody listens; an ack asked for can never be sent */
		return;
	}
	sio_ack *ack = NULL;
	if (p->id >= 0 && socket_acks_get(s)) {
		ack = calloc(1, sizeof(*ack));
		if (ack) {
			ack->sock = s;
			ack->id = p->id;
			list_insert_tail(&s->acks->in, &ack->link);
			s->acks->nin++;
		}
	}
	struct sio_binary stack_bins[16];
	struct sio_binary *bins = stack_bins;
	if (p->attachments > 16 && !(bins = malloc(p->attachments * sizeof(*bins)))) {
		if (ack) {
			list_remove(&ack->link);
			s->acks->nin--;
			free(ack);
		}
		json_decref(held);
		return;
	}
	pkt_bins(p, bins);
	if (fn)
		fn(s, event, arr, bins, p->attachments, ack, ud);
	if (bins != stack_bins)
		free(bins);
	json_decref(held);
}

static void on_ack(struct sio_socket *s, struct sio_pkt *p)
{
	if (!s->acks)
		return;
	for (struct list *n = s->acks->out.next; n != &s->acks->out; n = n->next) {
		struct pending_ack *a = container_of(n, struct pending_ack, link);
		if (a->id != p->id)
			continue;
		list_remove(&a->link);
		timer_cancel(s->nsp->io->wheel, &a->timer);
		struct sio_binary stack_bins[16];
		struct sio_binary *bins = stack_bins;
		if (p->attachments > 16 && !(bins = malloc(p->attachments * sizeof(*bins)))) {
			a->fn(s, SIO_ENOMEM, NULL, NULL, 0, a->userdata);
		} else {
			pkt_bins(p, bins);
			a->fn(s, 0, p->data, bins, p->attachments, a->userdata);
			if (bins != stack_bins)
				free(bins);
		}
		free(a);
		return;
	}
	/* an unknown or already answered id: ignored, as the reference */
}

void socket_on_packet(struct sio_socket *s, struct sio_pkt *p)
{
	switch (p->type) {
	case SIO_PACKET_EVENT:
	case SIO_PACKET_BINARY_EVENT:
		on_event(s, p);
		break;
	case SIO_PACKET_ACK:
	case SIO_PACKET_BINARY_ACK:
		on_ack(s, p);
		break;
	case SIO_PACKET_DISCONNECT:
		socket_close(s, "client namespace disconnect");
		break;
	default:
		break;
	}
}

/* ---- emitting ------------------------------------------------------------ */

/* An emit that a recovery may need: the offset appended, stored for the
 * socket alone, then queued. data borrowed (the offset is appended). */
static int emit_stored(struct sio_socket *s, json_t *data, const struct sio_binary *bins,
                       size_t nbins)
{
	struct recovery *rc = s->nsp->io->recovery;
	struct outbuf *bufs[1 + SIO_MAX_EMIT_BINS];
	uint64_t seq = recovery_offset(rc, data);
	if (!seq)
		return SIO_ENOMEM;
	int n = encode_packet(s->nsp->io, s->nsp->name, strlen(s->nsp->name),
			      SIO_PACKET_EVENT, -1, data, bins, nbins, bufs);
	if (n < 0)
		return n; /* nothing sent: the offset is given to the next emit */
	recovery_store(rc, seq, s->nsp, NULL, s->id, bufs, (size_t)n);
	if (s->rec)
		s->rec->last = seq;
	int r = eio_session_send(s->client->conn, bufs, (size_t)n, false);
	for (int i = 0; i < n; i++)
		outbuf_unref(bufs[i]);
	return r;
}

static int emit(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
		size_t nbins, bool is_volatile, int64_t id)
{
	int r = s ? emit_check(event, bins, nbins) : SIO_EINVAL;
	if (r == 0 && !s->connected)
		r = SIO_ECLOSED;
	if (r < 0) {
		json_decref(args);
		return r;
	}
	json_t *data;
	r = event_array(event, args, &data);
	if (r < 0)
		return r;
	SIO_OBSERVE(s->nsp->io, event_out, s, data, bins, nbins);
	if (s->nsp->io->recovery && !is_volatile && id < 0)
		r = emit_stored(s, data, bins, nbins);
	else
		r = socket_packet(s, SIO_PACKET_EVENT, id, data, bins, nbins, is_volatile);
	json_decref(data);
	return r;
}

SIO_API int sio_socket_emit(sio_socket *s, const char *event, json_t *args,
			    const struct sio_binary *bins, size_t nbins)
{
	return emit(s, event, args, bins, nbins, false, -1);
}

SIO_API int sio_socket_emit_volatile(sio_socket *s, const char *event, json_t *args,
				     const struct sio_binary *bins, size_t nbins)
{
	return emit(s, event, args, bins, nbins, true, -1);
}

static void ack_timed_out(struct timer *t)
{
	struct pending_ack *a = container_of(t, struct pending_ack, timer);
	list_remove(&a->link);
	a->fn(a->sock, SIO_ETIMEDOUT, NULL, NULL, 0, a->userdata);
	free(a);
}

SIO_API int sio_socket_emit_with_ack(sio_socket *s, const char *event, json_t *args,
				     const struct sio_binary *bins, size_t nbins,
				     uint32_t timeout_ms, sio_ack_fn cb, void *userdata)
{
	if (!s || !cb) {
		json_decref(args);
		return SIO_EINVAL;
	}
	struct pending_ack *a = socket_acks_get(s) ? calloc(1, sizeof(*a)) : NULL;
	if (!a) {
		json_decref(args);
		return SIO_ENOMEM;
	}
	int64_t id = s->nsp->next_ack_id;
	int r = emit(s, event, args, bins, nbins, false, id);
	if (r < 0) {
		free(a);
		return r;
	}
	namespace_ack_id(s->nsp); /* taken only once sent */
	a->id = id;
	a->fn = cb;
	a->userdata = userdata;
	a->sock = s;
	list_insert_tail(&s->acks->out, &a->link);
	if (timeout_ms)
		timer_arm(s->nsp->io->wheel, &a->timer, now_ms() + timeout_ms, ack_timed_out);
	return 0;
}

int64_t namespace_ack_id(struct sio_namespace *nsp)
{
	int64_t id = nsp->next_ack_id;
	nsp->next_ack_id = id + 1 > SIO_PKT_ACK_ID_MAX ? 0 : id + 1;
	return id;
}

int socket_expect_ack(struct sio_socket *s, int64_t id, sio_ack_fn fn, void *ud)
{
	struct pending_ack *a = socket_acks_get(s) ? calloc(1, sizeof(*a)) : NULL;
	if (!a)
		return SIO_ENOMEM;
	a->id = id;
	a->fn = fn;
	a->userdata = ud;
	a->sock = s;
	list_insert_tail(&s->acks->out, &a->link);
	return 0;
}

size_t namespace_drop_acks(struct sio_namespace *nsp, int64_t id, sio_ack_fn fn, void *ud)
{
	size_t n = 0;
	for (struct list *k = nsp->sockets.next; k != &nsp->sockets; k = k->next) {
		struct sio_socket *s = container_of(k, struct sio_socket, nsp_link);
		if (!s->acks)
			continue;
		for (struct list *e = s->acks->out.next; e != &s->acks->out;) {
			struct pending_ack *a = container_of(e, struct pending_ack, link);
			e = e->next;
			if (a->id != id || a->fn != fn || a->userdata != ud)
				continue;
			list_remove(&a->link);
			free(a);
			n++;
		}
	}
	return n;
}

SIO_API int sio_ack_send(sio_ack *ack, json_t *args, const struct sio_binary *bins,
			 size_t nbins)
{
	if (!ack) {
		json_decref(args);
		return SIO_EINVAL;
	}
	struct sio_socket *s = ack->sock;
	int64_t id = ack->id;
	list_remove(&ack->link);
	s->acks->nin--;
	free(ack);
	if (!args)
		args = json_array();
	if (!json_is_array(args)) {
		json_decref(args);
		return SIO_EINVAL;
	}
	int r = bins_check(bins, nbins);
	if (r == 0)
		r = s->connected ? socket_packet(s, SIO_PACKET_ACK, id, args, bins, nbins, false)
				 : SIO_ECLOSED;
	json_decref(args);
	return r;
}

/* ---- connect, rooms, close ----------------------------------------------- */

void socket_connected(struct sio_socket *s)
{
	struct sio_namespace *nsp = s->nsp;
	s->connected = true;
	list_insert_tail(&nsp->sockets, &s->nsp_link);
	nsp->nsockets++;
	list_insert_tail(&s->client->sockets, &s->client_link);
	s->client->nsockets++;
	nsp->adapter->ops->join(nsp->adapter, s, s->id); /* the own room */
	struct recovery *rc = nsp->io->recovery;
	if (rc && s->rec && !s->rec->recovered)
		s->rec->start = s->rec->last = recovery_now(rc);
	recovery_remember(rc, s);
	/* v4 clients (1.x/2.x) get a CONNECT without payload */
	json_t *reply = client_v4(s->client) ? NULL
	                : s->rec ? json_pack("{s:s,s:s}", "sid", s->id, "pid", s->rec->pid)
	                         : json_pack("{s:s}", "sid", s->id);
	socket_packet(s, SIO_PACKET_CONNECT, -1, reply, NULL, 0, false);
	json_decref(reply);
	SIO_OBSERVE(nsp->io, socket_connect, s);
	if (nsp->ev.connection)
		nsp->ev.connection(s, nsp->ev_userdata);
}

SIO_API int sio_socket_join(sio_socket *s, const char *room)
{
	if (!s || !room)
		return SIO_EINVAL;
	if (s->closed)
		return SIO_ECLOSED; /* before connecting (in middleware) is fine */
	struct sio_adapter *a = s->nsp->adapter;
	uint32_t cap = s->nsp->io->opts->max_rooms_per_socket;
	bool had = a->ops->has(a, s, room);
	if (cap && s->nrooms >= cap && !had)
		return SIO_EFULL;
	int r = a->ops->join(a, s, room);
	if (r == 0 && !had)
		socket_rooms_changed(s);
	return r;
}

SIO_API int sio_socket_leave(sio_socket *s, const char *room)
{
	if (!s || !room)
		return SIO_EINVAL;
	struct sio_adapter *a = s->nsp->adapter;
	if (a->ops->has(a, s, room)) {
		a->ops->leave(a, s, room);
		socket_rooms_changed(s);
	}
	return 0;
}

void socket_rooms_changed(struct sio_socket *s)
{
	struct recovery *rc = s->nsp->io->recovery;
	if (rc && s->rec)
		s->rec->rooms = recovery_now(rc);
}

SIO_API bool sio_socket_in(const sio_socket *s, const char *room)
{
	return s && room && s->nsp->adapter->ops->has(s->nsp->adapter, s, room);
}

SIO_API bool sio_socket_room_at(const sio_socket *s, size_t i, const char **room)
{
	return s && s->nsp->adapter->ops->room_at(s->nsp->adapter, s, i, room);
}

void socket_close(struct sio_socket *s, const char *reason)
{
	if (!s->connected)
		return;
	struct sio_namespace *nsp = s->nsp;
	struct sio_layer *io = nsp->io;
	if (nsp->ev.disconnecting)
		nsp->ev.disconnecting(s, reason, nsp->ev_userdata);
	if (!s->connected)
		return; /* closed from inside the callback */
	recovery_forget(io->recovery, s);
	recovery_persist(io->recovery, s, reason);
	s->connected = false;
	s->closed = true;
	nsp->adapter->ops->leave_all(nsp->adapter, s);
	list_remove(&s->nsp_link);
	nsp->nsockets--;
	list_remove(&s->client_link);
	s->client->nsockets--;
	if (nsp->child && !nsp->nsockets && !nsp->in_cleanup &&
	    io->opts->cleanup_empty_child_namespaces) {
		nsp->in_cleanup = true; /* freed with the closed sockets, if still empty */
		list_insert_tail(&io->nsp_cleanup, &nsp->cleanup_link);
	}
	while (s->acks && !list_empty(&s->acks->out)) {
		struct pending_ack *a = container_of(s->acks->out.next, struct pending_ack, link);
		list_remove(&a->link);
		timer_cancel(io->wheel, &a->timer);
		a->fn(s, SIO_ECLOSED, NULL, NULL, 0, a->userdata);
		free(a);
	}
	SIO_OBSERVE(io, socket_disconnect, s, reason);
	if (nsp->ev.disconnect)
		nsp->ev.disconnect(s, reason, nsp->ev_userdata);
	list_remove(&s->defer_link);
	list_insert_tail(&io->reap, &s->defer_link);
}

SIO_API void sio_socket_disconnect(sio_socket *s, bool close)
{
	if (!s || !s->connected || s->disconnect_pending)
		return;
	s->disconnect_pending = true;
	s->disconnect_close = close;
	list_insert_tail(&s->nsp->io->deferred, &s->defer_link);
}
