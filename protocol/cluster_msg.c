/*
 * ClusterAdapter messages: JSON or msgpack text <-> checked members.
 */
#include "protocol/cluster_msg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/json.h"
#include "protocol/msgpack_value.h"

bool cluster_msg_may_hold_binary(int type)
{
	return type == CLUSTER_BROADCAST || type == CLUSTER_BROADCAST_ACK ||
	       type == CLUSTER_FETCH_SOCKETS_RESPONSE || type == CLUSTER_SERVER_SIDE_EMIT ||
	       type == CLUSTER_SERVER_SIDE_EMIT_RESPONSE;
}

/* The strings of an array (borrowed) as a NULL-terminated array (new);
 * numbers (rooms a Node node keys by number, which no sioc socket is in)
 * are skipped and counted in *numbers; -1 when v is not an array of
 * strings and numbers, or out of memory (*enomem). */
static int string_array(json_t *v, const char ***out, size_t *n, size_t *numbers, bool *enomem)
{
	if (!v) {
		v = NULL; /* absent: empty, as new Set(undefined) */
	} else if (!json_is_array(v)) {
		return -1;
	}
	size_t count = v ? json_array_size(v) : 0;
	const char **arr = malloc((count + 1) * sizeof(*arr));
	if (!arr) {
		*enomem = true;
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		json_t *s = json_array_get(v, i);
		if (json_is_number(s)) {
			(*numbers)++;
			continue;
		}
		if (!json_is_string(s)) {
			free(arr);
			return -1;
		}
		arr[k++] = json_string_value(s);
	}
	arr[k] = NULL;
	*out = arr;
	*n = k;
	return 0;
}

static int opts_decode(json_t *o, struct cluster_opts *opts, bool *enomem)
{
	if (!json_is_object(o))
		return -1;
	size_t room_numbers = 0, except_numbers = 0;
	if (string_array(json_object_get(o, "rooms"), &opts->rooms, &opts->nrooms, &room_numbers,
	                 enomem) < 0)
		return -1;
	if (string_array(json_object_get(o, "except"), &opts->except, &opts->nexcept,
	                 &except_numbers, enomem) < 0)
		return -1;
	opts->none = room_numbers && !opts->nrooms;
	json_t *flags = json_object_get(o, "flags");
	if (json_is_object(flags)) {
		json_t *local = json_object_get(flags, "local");
		opts->local = local && json_is_true(local);
		opts->is_volatile = json_is_true(json_object_get(flags, "volatile"));
		json_t *timeout = json_object_get(flags, "timeout");
		if (json_is_number(timeout)) {
			opts->has_timeout = true;
			opts->timeout = json_number_value(timeout);
		}
	}
	return 0;
}

static int members_decode(struct cluster_msg *m)
{
	json_t *root = m->root;
	if (!json_is_object(root))
		return CLUSTER_MSG_EFORMAT;
	json_t *type = json_object_get(root, "type");
	if (!json_is_integer(type) || json_integer_value(type) < CLUSTER_INITIAL_HEARTBEAT ||
	    json_integer_value(type) > CLUSTER_ADAPTER_CLOSE)
		return CLUSTER_MSG_ETYPE;
	m->type = (int)json_integer_value(type);
	json_t *uid = json_object_get(root, "uid");
	m->uid = json_is_string(uid) ? json_string_value(uid) : NULL;
	json_t *nsp = json_object_get(root, "nsp");
	if (json_is_string(nsp)) {
		m->nsp = json_string_value(nsp);
		m->nsp_len = json_string_length(nsp);
	}
	if (m->type == CLUSTER_INITIAL_HEARTBEAT || m->type == CLUSTER_HEARTBEAT ||
	    m->type == CLUSTER_ADAPTER_CLOSE)
		return 0;
	m->data = json_object_get(root, "data");
	if (!json_is_object(m->data))
		return CLUSTER_MSG_EFIELD;
	m->request_id = json_object_get(m->data, "requestId");
	bool enomem = false;
	switch (m->type) {
	case CLUSTER_BROADCAST:
		m->packet = json_object_get(m->data, "packet");
		if (!json_is_object(m->packet) ||
		    !json_is_array(json_object_get(m->packet, "data")))
			return CLUSTER_MSG_EFIELD;
		break;
	case CLUSTER_SOCKETS_JOIN:
	case CLUSTER_SOCKETS_LEAVE: {
		/* addSockets() takes any iterable; the reference sends an array */
		m->rooms = json_object_get(m->data, "rooms");
		if (!json_is_array(m->rooms))
			return CLUSTER_MSG_EFIELD;
		for (size_t i = 0; i < json_array_size(m->rooms); i++) {
			json_t *r = json_array_get(m->rooms, i);
			if (!json_is_string(r) && !json_is_number(r))
				return CLUSTER_MSG_EFIELD;
		}
		break;
	}
	case CLUSTER_DISCONNECT_SOCKETS:
		m->close = json_is_true(json_object_get(m->data, "close"));
		break;
	case CLUSTER_FETCH_SOCKETS:
		if (!m->request_id)
			return CLUSTER_MSG_EFIELD;
		break;
	case CLUSTER_FETCH_SOCKETS_RESPONSE:
		m->sockets = json_object_get(m->data, "sockets");
		if (!json_is_array(m->sockets) || !m->request_id)
			return CLUSTER_MSG_EFIELD;
		break;
	case CLUSTER_SERVER_SIDE_EMIT:
		m->packet = json_object_get(m->data, "packet");
		if (!json_is_array(m->packet) || json_array_size(m->packet) == 0)
			return CLUSTER_MSG_EFIELD;
		break;
	case CLUSTER_SERVER_SIDE_EMIT_RESPONSE:
	case CLUSTER_BROADCAST_ACK:
		m->packet = json_object_get(m->data, "packet");
		if (!m->request_id)
			return CLUSTER_MSG_EFIELD;
		break;
	case CLUSTER_BROADCAST_CLIENT_COUNT: {
		json_t *c = json_object_get(m->data, "clientCount");
		if (!m->request_id || !json_is_number(c))
			return CLUSTER_MSG_EFIELD;
		double d = json_number_value(c);
		if (!(d >= 0 && d <= 9007199254740991.0))
			return CLUSTER_MSG_EFIELD;
		m->client_count = (long long)d;
		break;
	}
	}
	if (m->type >= CLUSTER_BROADCAST && m->type <= CLUSTER_FETCH_SOCKETS &&
	    opts_decode(json_object_get(m->data, "opts"), &m->opts, &enomem) < 0)
		return enomem ? CLUSTER_MSG_ENOMEM : CLUSTER_MSG_EFIELD;
	return 0;
}

int cluster_msg_decode(const uint8_t *buf, size_t len, struct cluster_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len == 0)
		return CLUSTER_MSG_EFORMAT;
	if (buf[0] == '{') {
		int err = 0;
		m->root = jsonr_parse((const char *)buf, len, CLUSTER_MSG_MAX_DEPTH, &err);
		if (!m->root)
			return err == JSONR_ENOMEM ? CLUSTER_MSG_ENOMEM : CLUSTER_MSG_EFORMAT;
	} else {
		struct msgpack_value v = {0};
		int r = msgpack_value_decode(buf, len, CLUSTER_MSG_MAX_DEPTH, CLUSTER_MSG_MAX_BINS,
		                             0, &v);
		if (r < 0)
			return r == SIO_PKT_ENOMEM ? CLUSTER_MSG_ENOMEM : CLUSTER_MSG_EFORMAT;
		m->root = v.json;
		m->bins = v.bufs;
		m->nbins = v.nbufs;
	}
	int r = members_decode(m);
	if (r < 0)
		cluster_msg_finish(m);
	return r;
}

void cluster_msg_finish(struct cluster_msg *m)
{
	json_decref(m->root);
	free(m->opts.rooms);
	free(m->opts.except);
	msgpack_bufs_free(m->bins, m->nbins);
	memset(m, 0, sizeof(*m));
}

static int buf_out(const char *p, size_t len, void *data)
{
	return buf_append(data, p, len);
}

int cluster_msg_encode(int type, const json_t *data, const char *uid, const char *nsp,
                       const struct sio_pkt_buf *bins, uint32_t nbins, struct buf *out)
{
	json_t *msg = json_object();
	if (!msg)
		return CLUSTER_MSG_ENOMEM;
	int r = CLUSTER_MSG_ENOMEM;
	/* JSON.stringify() keeps the order the reference sets them in */
	if (json_object_set_new(msg, "type", json_integer(type)) < 0)
		goto out;
	if (data && json_object_set(msg, "data", (json_t *)data) < 0)
		goto out;
	if (json_object_set_new(msg, "uid", json_string(uid)) < 0 ||
	    json_object_set_new(msg, "nsp", json_string(nsp)) < 0)
		goto out;
	if (nbins && cluster_msg_may_hold_binary(type)) {
		r = msgpack_value_encode(msg, bins, nbins, CLUSTER_MSG_MAX_DEPTH + 1, out);
		if (r < 0)
			r = r == SIO_PKT_ENOMEM ? CLUSTER_MSG_ENOMEM : CLUSTER_MSG_EFIELD;
	} else {
		r = jsonr_dump(msg, buf_out, out) < 0 ? CLUSTER_MSG_ENOMEM : 0;
	}
out:
	json_decref(msg);
	return r;
}

/* Appends names (NULL-terminated; NULL: none) to arr, each once, in the
 * order of its first occurrence (a JavaScript Set spread). */
static int set_append(json_t *arr, const char *const *names)
{
	for (size_t i = 0; names && names[i]; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(names[k], names[i]) == 0;
		if (!seen && json_array_append_new(arr, json_string(names[i])) < 0)
			return -1;
	}
	return 0;
}

json_t *cluster_opts_json(const char *const *rooms, const char *const *except, json_t *flags)
{
	json_t *o = json_object();
	json_t *r = json_array(), *e = json_array();
	if (!flags)
		flags = json_object();
	if (!o || !r || !e || !flags)
		goto fail;
	if (set_append(r, rooms) < 0 || set_append(e, except) < 0)
		goto fail;
	if (json_object_set_new(o, "rooms", r) < 0) {
		r = NULL;
		goto fail;
	}
	r = NULL;
	if (json_object_set_new(o, "except", e) < 0) {
		e = NULL;
		goto fail;
	}
	e = NULL;
	if (json_object_set_new(o, "flags", flags) < 0) {
		flags = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(o);
	json_decref(r);
	json_decref(e);
	json_decref(flags);
	return NULL;
}

const char *cluster_msg_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case CLUSTER_MSG_EFORMAT:
		return "neither JSON nor msgpack, or not an object";
	case CLUSTER_MSG_ETYPE:
		return "type missing or not 1..13";
	case CLUSTER_MSG_EFIELD:
		return "a member of the wrong kind for the type";
	case CLUSTER_MSG_ENOMEM:
		return "out of memory";
	}
	return "unknown error";
}
