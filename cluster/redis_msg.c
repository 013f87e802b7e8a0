/*
 * The Redis adapter's messages: JSON or msgpack, broadcasts and the
 * selections they carry. See redis_msg.h.
 */
#include "cluster/redis_msg.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/json.h"
#include "protocol/sio_packet.h"

/* notepack 3's integer keys and Dates, as the reference reads them */
#ifdef MSGPACK_VALUE_TIMESTAMP
#define MSG_DECODE_FLAGS (MSGPACK_VALUE_INT_KEYS | MSGPACK_VALUE_TIMESTAMP)
#else
#define MSG_DECODE_FLAGS MSGPACK_VALUE_INT_KEYS
#endif

bool redis_msg_decode(const uint8_t *msg, size_t len, struct msgpack_value *v)
{
	memset(v, 0, sizeof(*v));
	if (len && msg[0] == '{') {
		v->json = jsonr_parse((const char *)msg, len, REDIS_MSG_MAX_DEPTH, NULL);
		return v->json != NULL;
	}
	return msgpack_value_decode(msg, len, REDIS_MSG_MAX_DEPTH, REDIS_MSG_MAX_BINS,
	                            MSG_DECODE_FLAGS, v) == 0;
}

/* The string entries of arr (a number names a room no sioc socket can be
 * in: skipped, counted in *numbers). */
static const char **names_read(const json_t *arr, size_t *numbers)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (n > REDIS_MSG_MAX_ROOMS)
		n = REDIS_MSG_MAX_ROOMS;
	const char **out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		if (json_is_string(v))
			out[k++] = json_string_value(v);
		else if (json_is_number(v))
			(*numbers)++;
	}
	return out;
}

bool redis_msg_target_read(const json_t *opts, struct redis_msg_target *mt)
{
	memset(mt, 0, sizeof(*mt));
	size_t room_numbers = 0, except_numbers = 0;
	mt->rooms = names_read(json_object_get(opts, "rooms"), &room_numbers);
	mt->except = names_read(json_object_get(opts, "except"), &except_numbers);
	if (!mt->rooms || !mt->except)
		return false;
	mt->t.rooms = mt->rooms;
	mt->t.except = mt->except;
	/* rooms that are all numbers: nobody (not everybody) */
	mt->none = room_numbers && !mt->rooms[0];
	json_t *flags = json_object_get(opts, "flags");
	mt->t.volatile_ = json_is_true(json_object_get(flags, "volatile"));
	return true;
}

void redis_msg_target_finish(struct redis_msg_target *mt)
{
	free(mt->rooms);
	free(mt->except);
	memset(mt, 0, sizeof(*mt));
}

bool redis_msg_broadcast(const json_t *msg, const char *self, const char *nsp, json_t **data,
                         json_t **opts)
{
	json_t *uid = json_array_get(msg, 0);
	json_t *packet = json_array_get(msg, 1);
	json_t *ns = json_object_get(packet, "nsp");
	json_t *type = json_object_get(packet, "type");
	*data = json_object_get(packet, "data");
	*opts = json_array_get(msg, 2);
	return json_is_array(msg) && json_is_object(packet) &&
	       !(json_is_string(uid) && strcmp(json_string_value(uid), self) == 0) &&
	       (ns ? json_is_string(ns) && strcmp(json_string_value(ns), nsp) == 0
	           : strcmp(nsp, "/") == 0) &&
	       json_is_integer(type) &&
	       (json_integer_value(type) == SIO_PACKET_EVENT ||
	        json_integer_value(type) == SIO_PACKET_BINARY_EVENT) &&
	       json_is_array(*data) && json_array_size(*data) > 0;
}
