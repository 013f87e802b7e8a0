/*
 * The JSON argument path of an incoming EVENT, as server/socket.c walks it
 * (on_event), then sent back as the server would echo it (emit).
 *
 * The input is one text packet. Once sio_pkt_decode() accepts it, the
 * data must also survive encode and decode unchanged (json_equal). For an
 * EVENT or BINARY_EVENT, the harness then does what on_event() does: the
 * event name is element 0, a string (as strdup'd: up to its first NUL) or
 * a number (integers in decimal, other numbers as "%.17g"); element 0 is
 * removed and the remaining array is the handler's args, in which
 * sio_binary_num() (that is, sio_pkt_placeholder_num() with the packet's
 * attachment count) finds the binary arguments: all valid indices, none in
 * an EVENT. An ACK's args are walked the same way. Finally the args are
 * emitted back under the same name, as emit() and event_array() do
 * (refused for a reserved name); the result must encode, and decode to the
 * same name and equal args.
 *
 * on_event() is static in socket.c, which needs a whole server, so its
 * steps are repeated here; keep them in step with it.
 */
#include "sio_check.h"

#include <inttypes.h>

#define MAX_ATTACHMENTS SIO_PKT_MAX_ATTACHMENTS_DEFAULT

/* The names emit() refuses (socket.c's event_reserved()). */
static bool event_reserved(const char *event)
{
	static const char *const reserved[] = {
	        "connect",       "connect_error", "disconnect",
	        "disconnecting", "newListener",   "removeListener",
	};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(event, reserved[i]) == 0)
			return true;
	return false;
}

/* Collects the binary arguments the way a handler finds them: every value
 * for which sio_binary_num() is >= 0, not looking inside one. Returns how
 * many were found. */
static size_t find_binaries(const json_t *v, uint32_t nbins)
{
	size_t n = 0;

	if (sio_pkt_placeholder_num(v, nbins) >= 0)
		return 1;
	if (json_is_object(v)) {
		json_t *obj = (json_t *)v;

		for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
			n += find_binaries(json_object_iter_value(it), nbins);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			n += find_binaries(json_array_get(v, i), nbins);
	}
	return n;
}

/* on_event()'s name for element 0 (first may be NULL when the packet has
 * no data, as socket.c does not tell that case apart). */
static char *event_name(const json_t *first)
{
	char numbuf[32];

	if (json_is_string(first))
		return strdup(json_string_value(first));
	if (json_is_integer(first))
		snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT,
		         json_integer_value(first));
	else
		snprintf(numbuf, sizeof(numbuf), "%.17g", json_number_value(first));
	return strdup(numbuf);
}

/* Decodes text; returns 0 with *out filled or the error. */
static int decode(const char *text, size_t len, struct sio_pkt *out)
{
	char *copy = (char *)fuzz_copy(text, len);
	int r = sio_pkt_decode(copy, len, MAX_ATTACHMENTS, out);

	free(copy);
	return r;
}

/* Encodes, checking that it works; returns the packet text (malloc'd). */
static char *encode(enum sio_packet_type type, const struct sio_pkt *p, const json_t *data,
                    size_t *len)
{
	char *out = NULL;
	int r = sio_pkt_encode(type, p->nsp, p->nsp_len, p->id, p->attachments, data, 0, &out, len);

	if (r != 0)
		fprintf(stderr, "encode: %s\n", sio_pkt_strerror(r));
	FUZZ_CHECK(r == 0 && out);
	return out;
}

/* The echo: emit(event, args) with the packet's binaries and ack id. */
static void echo(const struct sio_pkt *p, const char *event, json_t *args)
{
	enum sio_packet_type type = p->attachments ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT;
	json_t *data = args ? json_deep_copy(args) : json_array();
	struct sio_pkt q;
	char *text;
	size_t len;
	char *name;

	FUZZ_CHECK(data != NULL);
	if (event_reserved(event)) {
		json_decref(data);
		return;
	}
	FUZZ_CHECK(json_is_array(data));
	FUZZ_CHECK(json_array_insert_new(data, 0, json_string(event)) == 0);
	text = encode(type, p, data, &len);
	FUZZ_CHECK(decode(text, len, &q) == 0);
	free(text);
	FUZZ_CHECK(q.type == type && q.id == p->id && q.attachments == p->attachments);
	name = event_name(json_array_get(q.data, 0));
	FUZZ_CHECK(name && strcmp(name, event) == 0);
	FUZZ_CHECK(json_array_remove(q.data, 0) == 0);
	FUZZ_CHECK(args ? json_equal(q.data, args) : json_array_size(q.data) == 0);
	free(name);
	json_decref(data);
	sio_pkt_finish(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_pkt p, q;
	char *text;
	size_t len;

	if (sio_pkt_decode((const char *)data, size, MAX_ATTACHMENTS, &p) != 0)
		return 0;
	sio_check_packet(&p);

	/* decode, encode, decode: the same JSON */
	text = encode(p.type, &p, p.data, &len);
	FUZZ_CHECK(decode(text, len, &q) == 0);
	free(text);
	FUZZ_CHECK((p.data == NULL) == (q.data == NULL));
	FUZZ_CHECK(p.data == NULL || json_equal(p.data, q.data));
	sio_pkt_finish(&q);

	switch (p.type) {
	case SIO_PACKET_EVENT:
	case SIO_PACKET_BINARY_EVENT: {
		json_t *args = p.data;
		char *event = event_name(json_array_get(args, 0));

		FUZZ_CHECK(event != NULL);
		if (args) {
			size_t before = json_array_size(args);

			FUZZ_CHECK(json_array_remove(args, 0) == 0);
			FUZZ_CHECK(json_array_size(args) == before - 1);
		}
		if (p.attachments == 0)
			FUZZ_CHECK(find_binaries(args, 0) == 0);
		else
			find_binaries(args, p.attachments);
		echo(&p, event, args);
		free(event);
		break;
	}
	case SIO_PACKET_ACK:
	case SIO_PACKET_BINARY_ACK:
		if (p.attachments == 0)
			FUZZ_CHECK(find_binaries(p.data, 0) == 0);
		else
			find_binaries(p.data, p.attachments);
		break;
	default:
		break;
	}
	sio_pkt_finish(&p);
	return 0;
}
